"""Lane propagation for gRPC servers and channels, sync and asyncio, all four RPC shapes.

``lanectx.instrument()`` adds these interceptors to every server and channel created
after it (servers and channels made before keep working, without lanes). By hand::

    server = grpc.server(pool, interceptors=[LaneServerInterceptor()])
    server = grpc.aio.server(interceptors=[AsyncLaneServerInterceptor()])
    channel = grpc.intercept_channel(
        grpc.insecure_channel("reviews:9080"), LaneClientInterceptor("reviews:9080")
    )
    channel = grpc.aio.insecure_channel(
        "reviews:9080", interceptors=async_client_interceptors("reviews:9080")
    )
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from ._config import LaneConfig
from ._grpc_client import (
    AsyncLaneClientInterceptor,
    LaneClientInterceptor,
    async_client_interceptors,
)
from ._grpc_server import AsyncLaneServerInterceptor, LaneServerInterceptor
from ._patch import patch

__all__ = [
    "AsyncLaneClientInterceptor",
    "AsyncLaneServerInterceptor",
    "LaneClientInterceptor",
    "LaneServerInterceptor",
    "async_client_interceptors",
]


def _server_position(interceptors: list[Any]) -> int:
    """Just inside OpenTelemetry's server interceptor (so its span gets the lane), else first."""
    position = 0
    for index, interceptor in enumerate(interceptors):
        if type(interceptor).__module__.startswith("opentelemetry."):
            position = index + 1
    return position


def _with_interceptors(
    args: tuple[Any, ...], kwargs: dict[str, Any], index: int, ours: list[Any], at_end: bool
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return (args, kwargs) with *ours* added to the ``interceptors`` argument at *index*.

    Nothing is added when an interceptor of the same kind is already there.
    """
    positional = len(args) > index
    interceptors = list((args[index] if positional else kwargs.get("interceptors")) or ())
    kind = (LaneServerInterceptor, AsyncLaneServerInterceptor, AsyncLaneClientInterceptor)
    if any(isinstance(i, k) and isinstance(ours[0], k) for i in interceptors for k in kind):
        return args, kwargs
    at = len(interceptors) if at_end else _server_position(interceptors)
    interceptors[at:at] = ours
    if positional:
        return (*args[:index], interceptors, *args[index + 1 :]), kwargs
    return args, {**kwargs, "interceptors": interceptors}


def _target(args: tuple[Any, ...], kwargs: dict[str, Any], options_index: int) -> str:
    """The channel's target: the address it dials (``grpc.default_authority`` is only a name
    sent in the ``:authority`` header, not where the lane would go)."""
    return str(args[0] if args else kwargs.get("target", ""))


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch the gRPC server and channel factories; return the undo."""

    def adding(index: int, make_ours: Callable[..., list[Any]], at_end: bool) -> Any:
        def make(original: Any, switch: Any) -> Any:
            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                if switch.on:
                    ours = make_ours(args, kwargs)
                    for interceptor in ours:
                        interceptor._switch = switch
                    args, kwargs = _with_interceptors(args, kwargs, index, ours, at_end)
                return original(*args, **kwargs)

            return create

        return make

    def sync_channel(options_index: int) -> Any:
        def make(original: Any, switch: Any) -> Any:
            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                channel = original(*args, **kwargs)
                if not switch.on:
                    return channel
                ours = LaneClientInterceptor(_target(args, kwargs, options_index), config)
                ours._switch = switch
                return grpc.intercept_channel(channel, ours)

            return create

        return make

    def aio_client(options_index: int) -> Callable[..., list[Any]]:
        def make_ours(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
            return async_client_interceptors(_target(args, kwargs, options_index), config)

        return make_ours

    undo = [
        patch(grpc, "server", adding(2, lambda *_: [LaneServerInterceptor(config)], False)),
        patch(
            grpc.aio, "server", adding(2, lambda *_: [AsyncLaneServerInterceptor(config)], False)
        ),
        patch(grpc, "insecure_channel", sync_channel(1)),
        patch(grpc, "secure_channel", sync_channel(2)),
        patch(grpc.aio, "insecure_channel", adding(3, aio_client(1), True)),
        patch(grpc.aio, "secure_channel", adding(4, aio_client(2), True)),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
