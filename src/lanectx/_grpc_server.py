"""gRPC servers: read the lane from invocation metadata, run every handler step in it.

The lane is read once per RPC, from the same metadata names and in the same order
as HTTP headers. Binary (``-bin``) entries are never read as lanes. Each step of a
handler (the call itself, and every ``next`` of a streamed response) runs with the
lane attached and detached again, so it never outlives the RPC on a pool thread.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig, active_config
from ._lane import dropped, lane_from_pairs
from ._server import request_context
from ._trust import peer_host

__all__ = ["AsyncLaneServerInterceptor", "InContext", "LaneServerInterceptor", "attached"]

Behavior = Callable[..., Any]

_SHAPES: dict[tuple[bool, bool], tuple[str, Callable[..., Any]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


class _On:
    on = True


ALWAYS_ON: Any = _On()


@contextmanager
def attached(ctx: Context | None) -> Iterator[None]:
    """Run the block with *ctx* attached (None: in the current context)."""
    if ctx is None:
        yield
        return
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


class InContext(Iterator[Any]):
    """An iterator whose every step runs in *ctx*; other attributes are the wrapped one's."""

    def __init__(self, inner: Iterable[Any], ctx: Context) -> None:
        self._inner = inner
        self._iterator = iter(inner)
        self._ctx = ctx

    def __next__(self) -> Any:
        token = context.attach(self._ctx)
        try:
            return next(self._iterator)
        finally:
            context.detach(token)

    def close(self) -> None:
        """Close the wrapped iterator (if it can be closed) in *ctx*."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            with attached(self._ctx):
                close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _pairs(config: LaneConfig, metadata: Iterable[Any]) -> Iterator[tuple[str, str]]:
    for key, value in metadata:
        if isinstance(value, str):
            yield key, value
        elif key.endswith("-bin") and key[:-4] in config.inbound_keys:
            dropped(key, "<binary value>")


def metadata_lane(config: LaneConfig, metadata: Iterable[Any] | None) -> str | None:
    """Return the lane carried by gRPC *metadata*, or None; bad values are logged and dropped."""
    return lane_from_pairs(config, _pairs(config, metadata)) if metadata else None


def _mentions_lane(config: LaneConfig, metadata: Iterable[Any] | None) -> bool:
    keys = config.inbound_keys
    return any(key in keys for key, _ in metadata or ())


class _Request:
    """What one RPC's metadata says: its lane, trust header values, baggage entries."""

    __slots__ = ("bags", "lane", "sent")

    def __init__(self, lane: str | None, sent: list[str] | None, bags: list[str]) -> None:
        self.lane = lane
        self.sent = sent
        self.bags = bags


def _context_for(config: LaneConfig, request: _Request, servicer_context: Any) -> Context | None:
    """The RPC's context; ``sent`` (trust header values) is None when every caller is trusted."""
    bags = request.bags or None
    if request.sent is None:
        return request_context(config, request.lane, True, bags)
    trusted = config.caller_trusted(peer_host(servicer_context.peer()), request.sent)
    return request_context(config, request.lane if trusted else None, trusted, bags)


def _run_sync(behavior: Behavior, config: LaneConfig, rpc: _Request, stream: bool) -> Behavior:
    def run(request: Any, servicer_context: Any) -> Any:
        ctx = _context_for(config, rpc, servicer_context)
        if ctx is None:
            return behavior(request, servicer_context)
        token = context.attach(ctx)
        try:
            result = behavior(request, servicer_context)
        finally:
            context.detach(token)
        return InContext(result, ctx) if stream and result is not None else result

    return run


def _run_coroutine(behavior: Behavior, config: LaneConfig, rpc: _Request) -> Behavior:
    async def run(request: Any, servicer_context: Any) -> Any:
        ctx = _context_for(config, rpc, servicer_context)
        if ctx is None:
            return await behavior(request, servicer_context)
        token = context.attach(ctx)
        try:
            return await behavior(request, servicer_context)
        finally:
            context.detach(token)

    return run


def _run_async_generator(behavior: Behavior, config: LaneConfig, rpc: _Request) -> Behavior:
    async def run(request: Any, servicer_context: Any) -> AsyncIterator[Any]:
        ctx = _context_for(config, rpc, servicer_context)
        responses = behavior(request, servicer_context)
        try:
            while True:
                with attached(ctx):
                    try:
                        response = await anext(responses)
                    except StopAsyncIteration:
                        return
                yield response
        finally:
            with attached(ctx):
                await responses.aclose()

    return run


def _find_kind(behavior: Behavior) -> str:
    """How a handler runs: ``coroutine``, ``async generator`` or ``sync``."""
    if inspect.iscoroutinefunction(behavior):
        return "coroutine"
    return "async generator" if inspect.isasyncgenfunction(behavior) else "sync"


_cached_kind = lru_cache(maxsize=1024)(_find_kind)


def _kind(behavior: Behavior) -> str:
    try:
        return _cached_kind(behavior)
    except TypeError:  # an unhashable callable
        return _find_kind(behavior)


def in_lane(
    handler: Any,
    config: LaneConfig,
    lane: str | None,
    sent: list[str] | None = None,
    bags: list[str] | None = None,
) -> Any:
    """Return an RPC method *handler* whose behaviour runs in the request's lane.

    *sent* holds the trust header's values when not every caller is trusted; the
    caller's address (``servicer_context.peer()``) is then checked per RPC. *bags*
    are the RPC's ``baggage`` entries, whose other members its outgoing calls pass on.
    """
    rpc = _Request(lane, sent, bags or [])
    streams = (bool(handler.request_streaming), bool(handler.response_streaming))
    name, make_handler = _SHAPES[streams]
    behavior = getattr(handler, name)
    if behavior is None:
        return handler
    kind = _kind(behavior)
    if kind == "coroutine":
        run = _run_coroutine(behavior, config, rpc)
    elif kind == "async generator":
        run = _run_async_generator(behavior, config, rpc)
    else:
        run = _run_sync(behavior, config, rpc, streams[1])
    return make_handler(
        run,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class _Base:
    def __init__(self, config: LaneConfig | None = None) -> None:
        self.config = config
        self._switch: Any = ALWAYS_ON

    def _intercept(self, handler: Any, details: Any) -> Any:
        config = self.config or active_config()
        if handler is None or not (self._switch.on and config.enabled):
            return handler
        metadata = details.invocation_metadata
        lane = metadata_lane(config, metadata)
        if lane is None and not _mentions_lane(config, metadata):
            return handler
        sent = None
        if not config.trust_all:
            header = config.trust_header
            sent = [v for k, v in metadata or () if k == header and isinstance(v, str)]
        bags = [v for k, v in metadata or () if k == "baggage" and isinstance(v, str)]
        return in_lane(handler, config, lane, sent, bags)


class LaneServerInterceptor(_Base, grpc.ServerInterceptor):  # type: ignore[misc]
    """Run each RPC of a `grpc.server` in the lane its metadata carries.

    Reads ``x-lane-id``, then ``x-pr-id``, then the ``lane`` member of ``baggage``
    (names from *config*, default: the active config). Invalid values are logged
    and dropped; the RPC goes on without a lane.
    """

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        """Return the method handler, wrapped to run in the request's lane."""
        return self._intercept(continuation(handler_call_details), handler_call_details)


class AsyncLaneServerInterceptor(_Base, grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Run each RPC of a `grpc.aio.server` (and the tasks it starts) in its lane.

    Same reading rules as `LaneServerInterceptor`; coroutine, async-generator and
    plain (thread pool) handlers are all kept as the kind they are.
    """

    async def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        """Return the method handler, wrapped to run in the request's lane."""
        handler = await continuation(handler_call_details)
        return self._intercept(handler, handler_call_details)
