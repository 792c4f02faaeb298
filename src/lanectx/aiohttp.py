"""Lane propagation for aiohttp: `ClientSession` calls and `web.Application` servers.

``lanectx.instrument()`` patches ``ClientRequest.send``, which aiohttp calls once per
hop (each redirect is a new request), so every hop's host is checked against the
allowlist (with ``LaneConfig(routing="client")`` the connector first points the hop
where the lane map sends it), and adds `lane_middleware` to every `web.Application` when it starts
(also one created before). Without ``instrument()``, add the middleware yourself::

    app = web.Application(middlewares=[lane_middleware])

The middleware honours the trust settings (the caller's address and the trust
header), adds `LaneConfig.served_header` to responses when one is set, and runs once
per request, also in sub-applications, beside
OpenTelemetry's aiohttp-server middleware in either order.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BaseConnector, ClientRequest
from opentelemetry import context

from ._config import LaneConfig, active_config
from ._hop import served_by
from ._lane import lane_from_values
from ._outbound import add_new, prepare_request
from ._patch import patch
from ._server import request_context

__all__ = ["lane_middleware", "read_lane"]

Handler = Callable[[Any], Awaitable[Any]]
_REQUEST = context.create_key("lanectx-aiohttp-request")


def read_lane(config: LaneConfig, request: Any) -> tuple[str | None, bool]:
    """Return (the request's lane, whether its caller may choose one) for a `web.Request`."""
    headers = request.headers
    if not config.trust_all:
        sent = headers.getall(config.trust_header, []) if config.trust_header else []
        if not config.caller_trusted(request.remote, sent):
            return None, False
    return lane_from_values(config, lambda name: headers.getall(name, None)), True


async def _lift(request: Any, handler: Handler, config: LaneConfig) -> Any:
    current = context.get_current()
    if context.get_value(_REQUEST, current) is request:
        return await handler(request)  # an outer application already lifted this request
    lane, trusted = read_lane(config, request)
    ctx = request_context(config, lane, trusted) or current
    token = context.attach(context.set_value(_REQUEST, request, ctx))
    try:
        response = await handler(request)
    finally:
        context.detach(token)
    if config.served_header is not None and not getattr(response, "prepared", True):
        response.headers[config.served_header] = served_by()
    return response


async def _served(config: LaneConfig, request: Any, response: Any) -> None:
    """``on_response_prepare``: say which version served it, also on a streamed response."""
    if config.served_header is not None and config.served_header not in response.headers:
        response.headers[config.served_header] = served_by()


def _new_style(function: Callable[..., Any]) -> Callable[..., Any]:
    function.__middleware_version__ = 1  # type: ignore[attr-defined]  # aiohttp's own mark
    return function


@_new_style
async def lane_middleware(request: Any, handler: Handler) -> Any:
    """An aiohttp middleware that runs the handler with the request's lane current."""
    config = active_config()
    if not config.enabled:
        return await handler(request)
    return await _lift(request, handler, config)


def _reroute(config: LaneConfig, request: ClientRequest) -> None:
    """Point *request* where the lane map sends it (client routing only), before dialling.

    The Host header stays the one addressed (docs/meshless.md).
    """
    from .lanemap._calls import routed

    url = request.url
    found = routed(config, url.host, url.port)
    if found is None or not found[0].rerouted(url.host or "", url.port):
        return
    route = found[0]
    request.url = url.with_host(route.host).with_port(route.port)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `aiohttp.ClientRequest.send` (and, for client routing, the connector)."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def send(self: ClientRequest, conn: Any) -> Any:
            # Judged on the host the hop was addressed to, also when rerouted.
            host = self.original_url.host
            ctx = prepare_request(config, host, self.headers, add_new) if switch.on else None
            if ctx is None:
                return await original(self, conn)
            token = context.attach(ctx)
            try:
                return await original(self, conn)
            finally:
                context.detach(token)

        return send

    def make_connect(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def connect(self: BaseConnector, req: ClientRequest, *args: Any, **kw: Any) -> Any:
            if switch.on and config.routing == "client":
                _reroute(config, req)
            return await original(self, req, *args, **kw)

        return connect

    undo_send = patch(ClientRequest, "send", make)
    undo_connect = patch(BaseConnector, "connect", make_connect)

    def undo() -> None:
        undo_connect()
        undo_send()

    return undo


def _install_server(config: LaneConfig) -> Callable[[], None]:
    """Add the lane middleware to each `web.Application` as it starts; return the undo."""
    from aiohttp import web

    def make(original: Any, switch: Any) -> Any:
        @_new_style
        async def middleware(request: Any, handler: Handler) -> Any:
            if not switch.on:  # uninstrumented: applications already started keep it
                return await handler(request)
            return await _lift(request, handler, config)

        async def served(request: Any, response: Any) -> None:
            if switch.on:
                await _served(config, request, response)

        @functools.wraps(original)
        def pre_freeze(self: web.Application) -> None:
            listed = self._middlewares
            if switch.on and not self.pre_frozen and lane_middleware not in listed:
                listed.insert(0, middleware)
                if config.served_header is not None:
                    self.on_response_prepare.append(served)
            original(self)

        return pre_freeze

    return patch(web.Application, "pre_freeze", make)
