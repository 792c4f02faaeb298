"""Pure-ASGI middleware that makes the request's lane current for the app.

For apps served without OpenTelemetry's ASGI middleware (with it, the global
propagator that ``lanectx.instrument()`` sets does the same work)::

    app = LaneMiddleware(app)
"""

from __future__ import annotations

from opentelemetry import context

from ._config import LaneConfig, active_config
from ._hop import served_by
from ._lane import inbound_values, lane_from_found, lane_from_pairs, without_lane_pairs
from ._server import LIFTED, request_context
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LaneMiddleware", "read_lane", "run_in_lane"]


class LaneMiddleware:
    """Read the lane from HTTP/WebSocket request headers and run the app in it.

    Invalid lane values are logged and dropped, never answered with an error; an
    untrusted caller's lane is ignored (see `LaneConfig` trust settings) and its lane
    headers are removed from the scope the app sees, so an OpenTelemetry middleware
    placed inside this one cannot extract them again. Other baggage members become
    part of the request's context and leave on its outgoing calls. Other
    scope types (``lifespan``) pass through untouched. With
    `LaneConfig.served_header` set, HTTP responses say which version served them.
    """

    def __init__(self, app: ASGIApp, config: LaneConfig | None = None) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config or active_config()
        kind = scope["type"]
        if kind not in ("http", "websocket") or not config.enabled or scope.get(LIFTED):
            await self.app(scope, receive, send)
            return
        scope[LIFTED] = True
        if config.served_header is not None and scope["type"] == "http":
            send = _served_sender(send, config.served_header)
        found = inbound_values(config, scope["headers"])
        trusted = config.trust_all or _caller_trusted(config, scope)
        lane = lane_from_found(config, found) if found and trusted else None
        ctx = request_context(config, lane, trusted, found.get("baggage") if found else None)
        if not trusted:
            scope = {**scope, "headers": without_lane_pairs(config, scope["headers"])}
        if ctx is None:
            await self.app(scope, receive, send)
            return
        # `run_in_lane` inlined: one coroutine less per request.
        token = context.attach(ctx)
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


def _served_sender(send: Send, header: str) -> Send:
    """Return *send* adding ``<header>: <this version>`` to the response start."""
    served = (header.encode("latin-1"), served_by().encode("latin-1"))

    async def send_served(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), served]}
        await send(message)

    return send_served


def _caller_trusted(config: LaneConfig, scope: Scope) -> bool:
    client = scope.get("client")
    name = (config.trust_header or "").encode("latin-1")
    sent = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return config.caller_trusted(client[0] if client else None, sent)


def read_lane(config: LaneConfig, scope: Scope) -> tuple[str | None, bool]:
    """Return (the request's lane, whether its caller may choose one); the lane is None if not."""
    if not config.trust_all and not _caller_trusted(config, scope):
        return None, False
    return lane_from_pairs(config, scope["headers"]), True


async def run_in_lane(
    app: ASGIApp,
    config: LaneConfig,
    lane: str | None,
    trusted: bool,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Run *app* with *lane* current (with no lane, and none left over, when not *trusted*)."""
    found = inbound_values(config, scope["headers"])
    ctx = request_context(config, lane, trusted, found.get("baggage") if found else None)
    if not trusted:
        scope = {**scope, "headers": without_lane_pairs(config, scope["headers"])}
    if ctx is None:
        await app(scope, receive, send)
        return
    token = context.attach(ctx)
    try:
        await app(scope, receive, send)
    finally:
        context.detach(token)
