"""The lift that ``instrument()`` puts into framework handlers (Flask, Django).

It is `lanectx.wsgi.LaneMiddleware` / `lanectx.asgi.LaneMiddleware` around the
handler, so a request some lanectx middleware already lifted (it is marked in the
environ / scope) is passed on untouched::

    return lift_wsgi(config, app, environ, start_response)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import asgi, wsgi
from ._config import LaneConfig
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["lift_asgi", "lift_wsgi"]


def lift_wsgi(
    config: LaneConfig,
    app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Iterable[bytes]:
    """Run the WSGI *app* (and its body) in the request's lane, unless already lifted."""
    return wsgi.LaneMiddleware(app, config)(environ, start_response)


async def lift_asgi(
    config: LaneConfig, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the ASGI *app* in the request's lane, unless already lifted."""
    await asgi.LaneMiddleware(app, config)(scope, receive, send)
