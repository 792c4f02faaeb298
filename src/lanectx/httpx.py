"""Lane propagation for httpx clients, sync and async.

``lanectx.instrument()`` patches every client, also ones created before it and
ones with custom transports. Without it, wrap a transport::

    client = httpx.Client(transport=LaneTransport(httpx.HTTPTransport()))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry import context

from ._config import LaneConfig, active_config
from ._outbound import prepare_request
from ._patch import patch

__all__ = ["AsyncLaneTransport", "LaneTransport"]


class LaneTransport(httpx.BaseTransport):
    """A sync transport that adds (or strips) the lane on each request it sends."""

    def __init__(self, transport: httpx.BaseTransport, config: LaneConfig | None = None) -> None:
        self._transport = transport
        self._config = config

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the wrapped transport with the lane set or stripped."""
        ctx = prepare_request(self._config or active_config(), request.url.host, request.headers)
        if ctx is None:
            return self._transport.handle_request(request)
        token = context.attach(ctx)
        try:
            return self._transport.handle_request(request)
        finally:
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
        ctx = prepare_request(self._config or active_config(), request.url.host, request.headers)
        if ctx is None:
            return await self._transport.handle_async_request(request)
        token = context.attach(ctx)
        try:
            return await self._transport.handle_async_request(request)
        finally:
            context.detach(token)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()


def _hop(client: type[Any]) -> str:
    # One call per hop (redirects included); fall back to the public method.
    return "_send_single_request" if hasattr(client, "_send_single_request") else "send"


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `httpx.Client` and `httpx.AsyncClient`; return the undo."""

    def make_sync(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: httpx.Client, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
            ctx = prepare_request(config, request.url.host, request.headers) if switch.on else None
            if ctx is None:
                return original(self, request, *args, **kwargs)
            token = context.attach(ctx)
            try:
                return original(self, request, *args, **kwargs)
            finally:
                context.detach(token)

        return send

    def make_async(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def send(
            self: httpx.AsyncClient, request: httpx.Request, *args: Any, **kwargs: Any
        ) -> Any:
            ctx = prepare_request(config, request.url.host, request.headers) if switch.on else None
            if ctx is None:
                return await original(self, request, *args, **kwargs)
            token = context.attach(ctx)
            try:
                return await original(self, request, *args, **kwargs)
            finally:
                context.detach(token)

        return send

    undo_sync = patch(httpx.Client, _hop(httpx.Client), make_sync)
    undo_async = patch(httpx.AsyncClient, _hop(httpx.AsyncClient), make_async)

    def undo() -> None:
        undo_sync()
        undo_async()

    return undo
