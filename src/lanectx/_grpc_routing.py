"""gRPC channels in client routing mode: each call goes to its own lane's version.

Python grpcio has no resolver API, so one channel cannot pick an address per call.
A routing channel stands in front of the channel the application made; each call
asks the lane map where it goes (`lanectx.lanemap.routed`) and is made on the
application's channel (stable as addressed) or on a child channel to the route's
address. Children are kept per address, at most `MAX_CHILDREN` of them (the oldest
is closed beyond that), and are closed with the routing channel.
A child sends the ``:authority`` of the target addressed, so the lane version is
asked exactly what the stable one would be.

    channel = RoutingChannel(parent, "reviews:9080", config, make_child)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig
from .lanemap._calls import routed
from .lanemap._route import Route

__all__ = ["MAX_CHILDREN", "AsyncRoutingChannel", "RoutingChannel", "split_target"]

MAX_CHILDREN = 32
MakeChild = Callable[[str, str], Any]  # (target, authority) -> channel
_OTHER_SCHEMES = frozenset({"ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds"})


def split_target(target: str) -> tuple[str, str, int | None] | None:
    """Return (scheme prefix, host, port) of a target naming one host; None for the rest.

    ``reviews:9080`` -> ``("", "reviews", 9080)``; ``dns:///reviews.shop.svc:9080``
    -> ``("dns:///", "reviews.shop.svc", 9080)``; addresses lists, IPv6, unix
    sockets and other schemes are never rerouted.
    """
    scheme, colon, rest = target.strip().partition(":")
    prefix = ""
    if colon and scheme.lower() == "dns":
        if rest.startswith("//"):
            end = rest.find("/", 2)
            if end < 0:
                return None
            prefix, rest = f"{scheme}:{rest[: end + 1]}", rest[end + 1 :]
        else:
            prefix = f"{scheme}:"
    elif colon and (scheme.lower() in _OTHER_SCHEMES or rest.startswith("//")):
        return None
    else:
        rest = target.strip()
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, ""
    if not host or "," in rest or "[" in rest or ":" in host or (port and not port.isdigit()):
        return None
    return prefix, host.lower(), int(port) if port else None


class _Child:
    """A channel to one rerouted address."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel


class _Method:
    """One method of a routing channel: every call picks its channel by its route."""

    def __init__(self, owner: _Routing, kind: str, args: tuple[Any, ...], kw: dict[str, Any]):
        self._owner = owner
        self._kind, self._args, self._kwargs = kind, args, kw
        self._stable = getattr(owner.parent, kind)(*args, **kw)
        self._by_child: dict[_Child, Any] = {}

    def _pick(self, name: str) -> tuple[Any, Context | None]:
        found = self._owner.route()
        if found is None:
            return getattr(self._stable, name), None
        child, ctx = found
        if child is None:
            return getattr(self._stable, name), ctx
        method = self._by_child.get(child)
        if method is None:
            if len(self._by_child) >= 2 * MAX_CHILDREN:  # children were evicted: start over
                self._by_child.clear()
            method = getattr(child.channel, self._kind)(*self._args, **self._kwargs)
            self._by_child[child] = method
        return getattr(method, name), ctx

    def _send(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        send, ctx = self._pick(name)
        if ctx is None:
            return send(*args, **kwargs)
        token = context.attach(ctx)
        try:
            return send(*args, **kwargs)
        finally:
            context.detach(token)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._send("__call__", args, kwargs)

    def with_call(self, *args: Any, **kwargs: Any) -> Any:
        return self._send("with_call", args, kwargs)

    def future(self, *args: Any, **kwargs: Any) -> Any:
        return self._send("future", args, kwargs)


class _Routing:
    """What sync and aio routing channels share: the target, the route, the children."""

    def __init__(self, parent: Any, target: str, config: LaneConfig, make_child: MakeChild):
        parts = split_target(target)
        if parts is None:
            raise ValueError(f"target {target!r} cannot be rerouted")
        self.parent = parent
        self._prefix, self._host, self._port = parts
        self._authority = target[len(self._prefix) :]
        self._config = config
        self._make_child = make_child
        self._children: OrderedDict[str, _Child] = OrderedDict()  # by target, oldest first
        self._by_route: dict[Route, _Child] = {}
        self._lock = threading.Lock()
        self._closed = False

    def route(self) -> tuple[_Child | None, Context | None] | None:
        """Return (the child to call on, None for the parent; the context) or None."""
        found = routed(self._config, self._host, self._port)
        if found is None:
            return None
        route, ctx = found
        child = self._by_route.get(route)
        if child is None:
            if not route.rerouted(self._host, self._port):
                return None, ctx
            child = self._child(route)
        return child, ctx

    def _child(self, route: Route) -> _Child | None:
        host = f"[{route.host}]" if ":" in route.host else route.host
        target = f"{self._prefix}{host}" + ("" if route.port is None else f":{route.port}")
        with self._lock:
            if self._closed:
                return None
            child = self._children.get(target)
            if child is None:
                child = self._children[target] = _Child(self._make_child(target, self._authority))
                if len(self._children) > MAX_CHILDREN:
                    _, evicted = self._children.popitem(last=False)
                    self._by_route.clear()
                    self.evicted(evicted.channel)
            self._by_route[route] = child
            return child

    def take_children(self) -> list[Any]:
        """Mark the channel closed and return the children to close."""
        with self._lock:
            self._closed = True
            children = [child.channel for child in self._children.values()]
            self._children.clear()
            self._by_route.clear()
        return children

    def evicted(self, channel: Any) -> None:
        """Close a child pushed out of the bounded set."""
        channel.close()

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        """Return a unary-unary method whose every call is routed by its lane."""
        return _Method(self, "unary_unary", args, kwargs)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        """Return a unary-stream method whose every call is routed by its lane."""
        return _Method(self, "unary_stream", args, kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        """Return a stream-unary method whose every call is routed by its lane."""
        return _Method(self, "stream_unary", args, kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        """Return a stream-stream method whose every call is routed by its lane."""
        return _Method(self, "stream_stream", args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "parent":  # not set yet (a failed __init__): no recursion
            raise AttributeError(name)
        return getattr(self.parent, name)


class RoutingChannel(_Routing, grpc.Channel):  # type: ignore[misc]
    """A sync channel sending each call to its lane's version of *target*."""

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        """Watch the connectivity of the channel addressed."""
        self.parent.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        """Stop watching the channel addressed."""
        self.parent.unsubscribe(callback)

    def close(self) -> None:
        """Close every child, then the channel addressed."""
        for child in self.take_children():
            child.close()
        self.parent.close()

    def __enter__(self) -> RoutingChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRoutingChannel(_Routing, grpc.aio.Channel):  # type: ignore[misc]
    """A `grpc.aio` channel sending each call to its lane's version of *target*."""

    def evicted(self, channel: Any) -> None:
        """Close a child pushed out of the bounded set, letting its calls finish."""
        import asyncio

        task = asyncio.get_running_loop().create_task(channel.close(grace=5.0))
        self._closing = task  # keep a reference until it is done

    async def close(self, grace: float | None = None) -> None:
        """Close every child, then the channel addressed."""
        for child in self.take_children():
            await child.close(grace)
        await self.parent.close(grace)

    async def channel_ready(self) -> None:
        """Wait until the channel addressed is ready."""
        await self.parent.channel_ready()

    def get_state(self, try_to_connect: bool = False) -> Any:
        """Return the connectivity of the channel addressed."""
        return self.parent.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: Any) -> None:
        """Wait for the channel addressed to leave *last_observed_state*."""
        await self.parent.wait_for_state_change(last_observed_state)

    async def __aenter__(self) -> AsyncRoutingChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close(None)
