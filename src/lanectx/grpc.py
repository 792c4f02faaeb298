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

In client routing mode (``LANECTX_ROUTING=client``) a channel ``instrument()`` makes
to a single host sends each call to its own lane's version of the target, through a
bounded set of child channels closed with it (see `lanectx._grpc_routing`).
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
from ._grpc_routing import AsyncRoutingChannel, RoutingChannel, split_target
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


def _retarget(
    args: tuple[Any, ...], kwargs: dict[str, Any], options_index: int, target: str, authority: str
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return (args, kwargs) of a channel to *target* that sends ``:authority`` *authority*."""
    positional = len(args) > options_index
    options = list((args[options_index] if positional else kwargs.get("options")) or ())
    if not any(name == "grpc.default_authority" for name, _ in options):
        options.append(("grpc.default_authority", authority))
    args = (target, *args[1:]) if args else args
    kwargs = kwargs if args else {**kwargs, "target": target}
    if positional:
        return (*args[:options_index], options, *args[options_index + 1 :]), kwargs
    return args, {**kwargs, "options": options}


def _routing(
    channel: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options_index: int,
    build: Callable[[tuple[Any, ...], dict[str, Any]], Any],
    config: LaneConfig,
    kind: type[RoutingChannel] | type[AsyncRoutingChannel],
) -> Any:
    """Return *channel* behind a routing channel when its target can be rerouted."""
    target = str(args[0] if args else kwargs.get("target", ""))
    if split_target(target) is None:
        return channel

    def make_child(child_target: str, authority: str) -> Any:
        return build(*_retarget(args, kwargs, options_index, child_target, authority))

    return kind(channel, target, config, make_child)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch the gRPC server and channel factories; return the undo."""
    routing = config.routing == "client"

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
            def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                ours = LaneClientInterceptor(_target(args, kwargs, options_index), config)
                ours._switch = switch
                return grpc.intercept_channel(original(*args, **kwargs), ours)

            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                if not switch.on:
                    return original(*args, **kwargs)
                channel = build(args, kwargs)
                if not routing:
                    return channel
                return _routing(channel, args, kwargs, options_index, build, config, RoutingChannel)

            return create

        return make

    def aio_channel(index: int, options_index: int) -> Any:
        def make(original: Any, switch: Any) -> Any:
            def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                ours = async_client_interceptors(_target(args, kwargs, options_index), config)
                for interceptor in ours:
                    interceptor._switch = switch
                args, kwargs = _with_interceptors(args, kwargs, index, ours, True)
                return original(*args, **kwargs)

            @functools.wraps(original)
            def create(*args: Any, **kwargs: Any) -> Any:
                if not switch.on:
                    return original(*args, **kwargs)
                channel = build(args, kwargs)
                if not routing:
                    return channel
                kind = AsyncRoutingChannel
                return _routing(channel, args, kwargs, options_index, build, config, kind)

            return create

        return make

    undo = [
        patch(grpc, "server", adding(2, lambda *_: [LaneServerInterceptor(config)], False)),
        patch(
            grpc.aio, "server", adding(2, lambda *_: [AsyncLaneServerInterceptor(config)], False)
        ),
        patch(grpc, "insecure_channel", sync_channel(1)),
        patch(grpc, "secure_channel", sync_channel(2)),
        patch(grpc.aio, "insecure_channel", aio_channel(3, 1)),
        patch(grpc.aio, "secure_channel", aio_channel(4, 2)),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
