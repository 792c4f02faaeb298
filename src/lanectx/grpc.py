"""Lane propagation for gRPC servers and channels, sync and asyncio, all four RPC shapes.

``lanectx.instrument()`` adds these interceptors to every server and channel created
after it (servers and channels made before keep working, without lanes). By hand::

    server = grpc.server(pool, interceptors=[LaneServerInterceptor()])
    server = grpc.aio.server(interceptors=[AsyncLaneServerInterceptor()])
    channel = grpc.intercept_channel(
        grpc.insecure_channel("reviews:9080"), LaneClientInterceptor("reviews:9080")
    )
    channel = grpc.aio.insecure_channel(
        "reviews:9080", interceptors=[AsyncLaneClientInterceptor("reviews:9080")]
    )
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from ._config import LaneConfig
from ._grpc_client import AsyncLaneClientInterceptor, LaneClientInterceptor
from ._grpc_server import AsyncLaneServerInterceptor, LaneServerInterceptor
from ._patch import patch

__all__ = [
    "AsyncLaneClientInterceptor",
    "AsyncLaneServerInterceptor",
    "LaneClientInterceptor",
    "LaneServerInterceptor",
]


def _server_position(interceptors: list[Any]) -> int:
    """Just inside OpenTelemetry's server interceptor (so its span gets the lane), else first."""
    position = 0
    for index, interceptor in enumerate(interceptors):
        if type(interceptor).__module__.startswith("opentelemetry."):
            position = index + 1
    return position


def _with_interceptor(
    args: tuple[Any, ...], kwargs: dict[str, Any], index: int, ours: Any, at_end: bool
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return (args, kwargs) with *ours* added to the ``interceptors`` argument at *index*."""
    positional = len(args) > index
    interceptors = list((args[index] if positional else kwargs.get("interceptors")) or ())
    if any(type(i) is type(ours) for i in interceptors):
        return args, kwargs
    interceptors.insert(len(interceptors) if at_end else _server_position(interceptors), ours)
    if positional:
        return (*args[:index], interceptors, *args[index + 1 :]), kwargs
    return args, {**kwargs, "interceptors": interceptors}


def _target(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0] if args else kwargs.get("target", ""))


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch the gRPC server and channel factories; return the undo."""

    def server(index: int, kind: type[Any]) -> Callable[[Any, Any], Any]:
        def make(original: Any, switch: Any) -> Any:
            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                if switch.on:
                    ours = kind(config)
                    ours._switch = switch
                    args, kwargs = _with_interceptor(args, kwargs, index, ours, at_end=False)
                return original(*args, **kwargs)

            return create

        return make

    def sync_channel(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            channel = original(*args, **kwargs)
            if not switch.on:
                return channel
            ours = LaneClientInterceptor(_target(args, kwargs), config)
            ours._switch = switch
            return grpc.intercept_channel(channel, ours)

        return create

    def aio_channel(index: int) -> Callable[[Any, Any], Any]:
        def make(original: Any, switch: Any) -> Any:
            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                if switch.on:
                    ours = AsyncLaneClientInterceptor(_target(args, kwargs), config)
                    ours._switch = switch
                    args, kwargs = _with_interceptor(args, kwargs, index, ours, at_end=True)
                return original(*args, **kwargs)

            return create

        return make

    undo = [
        patch(grpc, "server", server(2, LaneServerInterceptor)),
        patch(grpc.aio, "server", server(2, AsyncLaneServerInterceptor)),
        patch(grpc, "insecure_channel", sync_channel),
        patch(grpc, "secure_channel", sync_channel),
        patch(grpc.aio, "insecure_channel", aio_channel(3)),
        patch(grpc.aio, "secure_channel", aio_channel(4)),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
