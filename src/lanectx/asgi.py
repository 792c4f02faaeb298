"""Pure-ASGI middleware that makes the request's lane current for the app.

For apps served without OpenTelemetry's ASGI middleware (with it, the global
propagator that ``lanectx.instrument()`` sets does the same work)::

    app = LaneMiddleware(app)
"""

from __future__ import annotations

from opentelemetry import context

from ._config import LaneConfig, active_config
from ._lane import lane_from_pairs
from ._server import request_context
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["LaneMiddleware"]


class LaneMiddleware:
    """Read the lane from HTTP/WebSocket request headers and run the app in it.

    Invalid lane values are logged and dropped, never answered with an error.
    Other scope types (``lifespan``) pass through untouched.
    """

    def __init__(self, app: ASGIApp, config: LaneConfig | None = None) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config or active_config()
        if scope["type"] not in ("http", "websocket") or not config.enabled:
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if config.trust_all:
            ctx = request_context(config, lane_from_pairs(config, headers))
        else:
            client = scope.get("client")
            name = (config.trust_header or "").encode("latin-1")
            sent = [v.decode("latin-1") for k, v in headers if k == name]
            trusted = config.caller_trusted(client[0] if client else None, sent)
            ctx = request_context(config, lane_from_pairs(config, headers), trusted)
        if ctx is None:
            await self.app(scope, receive, send)
            return
        token = context.attach(ctx)
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
