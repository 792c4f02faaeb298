"""The lift that ``instrument()`` puts into framework handlers (Flask, Django).

What `lanectx.wsgi.LaneMiddleware` / `lanectx.asgi.LaneMiddleware` do (the served
header included), once per request: a request some lanectx middleware already lifted
(it is marked in the environ / scope) is passed on untouched::

    return lift_wsgi(config, app, environ, start_response)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import asgi, wsgi
from ._config import LaneConfig
from ._server import LIFTED
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["lift_asgi", "lift_wsgi"]


def lift_wsgi(
    config: LaneConfig,
    app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Iterable[bytes]:
    """Run the WSGI *app* (and its body) in the request's lane, unless already lifted."""
    if environ.get(LIFTED):
        return app(environ, start_response)
    environ[LIFTED] = True
    if config.served_header is not None:
        start_response = wsgi._served_start(start_response, config.served_header)
    lane, trusted = wsgi.read_lane(config, environ)
    return wsgi.run_in_lane(app, config, lane, trusted, environ, start_response)


async def lift_asgi(
    config: LaneConfig, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the ASGI *app* in an HTTP request's lane, unless already lifted."""
    if scope["type"] != "http" or scope.get(LIFTED):
        await app(scope, receive, send)
        return
    scope[LIFTED] = True
    if config.served_header is not None:
        send = asgi._served_sender(send, config.served_header)
    lane, trusted = asgi.read_lane(config, scope)
    await asgi.run_in_lane(app, config, lane, trusted, scope, receive, send)
