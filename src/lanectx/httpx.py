"""Lane propagation for httpx clients, sync and async.

``lanectx.instrument()`` patches every client, also ones created before it and
ones with custom transports. Without it, wrap a transport::

    client = httpx.Client(transport=LaneTransport(httpx.HTTPTransport()))

In client routing mode (``LANECTX_ROUTING=client``) each hop to a service in the
lane map is sent to the lane's version (or stable); the request keeps its Host
header, and once sent its URL is the one addressed again, so redirects and
cookies see the service, not the version.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig, active_config
from ._outbound import Add, LaneHeaders, prepare_request
from ._patch import patch
from .lanemap._calls import routed

__all__ = ["AsyncLaneTransport", "LaneTransport"]

_T = TypeVar("_T")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class LaneTransport(httpx.BaseTransport):
    """A sync transport that adds (or strips) the lane on each request it sends."""

    def __init__(self, transport: httpx.BaseTransport, config: LaneConfig | None = None) -> None:
        self._transport = transport
        self._config = config

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the wrapped transport with the lane set or stripped."""
        config = self._config or active_config()
        ctx = prepare_request(config, request.url.host, request.headers, _ADD)
        token = None if ctx is None else context.attach(ctx)
        try:  # routed inside ctx, so the route's context keeps the request's baggage
            if config.routing == "client" and (found := _reroute(config, request)) is not None:
                send = self._transport.handle_request
                return _send_routed(lambda: send(request), request, found)
            return self._transport.handle_request(request)
        finally:
            if token is not None:
                context.detach(token)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._transport.close()


class AsyncLaneTransport(httpx.AsyncBaseTransport):
    """An async transport that adds (or strips) the lane on each request it sends."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, config: LaneConfig | None = None
    ) -> None:
        self._transport = transport
        self._config = config

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the wrapped transport with the lane set or stripped."""
        config = self._config or active_config()
        ctx = prepare_request(config, request.url.host, request.headers, _ADD)
        token = None if ctx is None else context.attach(ctx)
        try:  # routed inside ctx, so the route's context keeps the request's baggage
            if config.routing == "client" and (found := _reroute(config, request)) is not None:
                send = self._transport.handle_async_request
                return await _send_routed_async(lambda: send(request), request, found)
            return await self._transport.handle_async_request(request)
        finally:
            if token is not None:
                context.detach(token)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()


def _second(item: tuple[bytes, bytes, bytes]) -> bytes:
    return item[1]


def _add_raw(headers: httpx.Headers, added: LaneHeaders) -> bool:
    """`prepare_request`'s quick add: append to the headers' own list when it has none.

    `httpx.Headers` keeps (name, lowercase name, value) bytes in ``_list``; a set through
    its public API costs more than the rest of the hop. `_raw_list_usable` checks the
    layout once, at import, and the public API is used when it is not as expected.
    """
    items = headers._list
    if not added.raw_names.isdisjoint(map(_second, items)):
        return False
    items.extend(added.raw)
    return True


def _raw_list_usable() -> bool:
    """True when `httpx.Headers` keeps its entries as `_add_raw` expects."""
    try:
        headers = httpx.Headers({"A": "b"})
        items = headers._list
        if type(items) is not list or items != [(b"A", b"a", b"b")]:
            return False
        items.append((b"X-C", b"x-c", b"d"))
        return headers.get("x-c") == "d" and headers.raw == [(b"A", b"b"), (b"X-C", b"d")]
    except Exception:  # any other layout: the public API it is
        return False


_ADD: Add | None = _add_raw if _raw_list_usable() else None


def _with_address(url: httpx.URL, host: str, port: int | None) -> httpx.URL:
    """Return *url* with another host and port (a parse-free copy when httpx allows it)."""
    reference = getattr(url, "_uri_reference", None)
    if reference is None or not hasattr(reference, "_replace"):
        return url.copy_with(host=host, port=port)
    return _copy(reference, host, port)


@functools.lru_cache(maxsize=1024)
def _copy(reference: Any, host: str, port: int | None) -> httpx.URL:
    if port is not None and port == _DEFAULT_PORTS.get(reference.scheme):
        port = None  # as httpx itself keeps a scheme's default port
    copy = httpx.URL.__new__(httpx.URL)
    copy._uri_reference = reference._replace(host=host, port=port)
    return copy


def _reroute(config: LaneConfig, request: httpx.Request) -> tuple[httpx.URL, Context | None] | None:
    """Point *request* at its route; return (the URL addressed, the context to send in)."""
    url = request.url
    host, port = url.host, url.port
    found = routed(config, host, port)
    if found is None:
        return None
    route, ctx = found
    if route.rerouted(host, port):
        request.url = _with_address(url, route.host, route.port)
    return url, ctx


def _send_routed(send: Callable[[], _T], request: httpx.Request, found: Any) -> _T:
    """Call *send* in the route's context; give the request its addressed URL back after."""
    url, ctx = found
    token = None if ctx is None else context.attach(ctx)
    try:
        return send()
    finally:
        request.url = url
        if token is not None:
            context.detach(token)


async def _send_routed_async(
    send: Callable[[], Awaitable[_T]], request: httpx.Request, found: Any
) -> _T:
    """Await *send* in the route's context; give the request its addressed URL back after."""
    url, ctx = found
    token = None if ctx is None else context.attach(ctx)
    try:
        return await send()
    finally:
        request.url = url
        if token is not None:
            context.detach(token)


def _hop(client: type[Any]) -> str:
    # One call per hop (redirects included); fall back to the public method.
    return "_send_single_request" if hasattr(client, "_send_single_request") else "send"


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `httpx.Client` and `httpx.AsyncClient`; return the undo."""
    routing = config.routing == "client"

    def make_sync(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: httpx.Client, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
            if not switch.on:
                return original(self, request, *args, **kwargs)
            ctx = prepare_request(config, request.url.host, request.headers, _ADD)
            if ctx is None and not routing:
                return original(self, request, *args, **kwargs)
            token = None if ctx is None else context.attach(ctx)
            try:  # routed inside ctx, so the route's context keeps the request's baggage
                if routing and (found := _reroute(config, request)) is not None:
                    return _send_routed(
                        lambda: original(self, request, *args, **kwargs), request, found
                    )
                return original(self, request, *args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)

        return send

    def make_async(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def send(
            self: httpx.AsyncClient, request: httpx.Request, *args: Any, **kwargs: Any
        ) -> Any:
            if not switch.on:
                return await original(self, request, *args, **kwargs)
            ctx = prepare_request(config, request.url.host, request.headers, _ADD)
            if ctx is None and not routing:
                return await original(self, request, *args, **kwargs)
            token = None if ctx is None else context.attach(ctx)
            try:  # routed inside ctx, so the route's context keeps the request's baggage
                if routing and (found := _reroute(config, request)) is not None:
                    call = lambda: original(self, request, *args, **kwargs)  # noqa: E731
                    return await _send_routed_async(call, request, found)
                return await original(self, request, *args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)

        return send

    undo_sync = patch(httpx.Client, _hop(httpx.Client), make_sync)
    undo_async = patch(httpx.AsyncClient, _hop(httpx.AsyncClient), make_async)

    def undo() -> None:
        undo_sync()
        undo_async()

    return undo
