"""Django projects lane-aware with ``lanectx.instrument()`` alone, WSGI and ASGI.

``instrument()`` runs Django's `WSGIHandler` and `ASGIHandler` in the request's
lane, streamed responses included, with the trust settings applied. A project
whose ``MIDDLEWARE`` holds OpenTelemetry's Django middleware is left to it::

    # wsgi.py / asgi.py, or settings.py
    import lanectx
    lanectx.instrument()
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ._config import LaneConfig
from ._patch import patch
from ._server import LIFTED
from .asgi import read_lane as read_scope_lane
from .asgi import run_in_lane as run_scope_in_lane
from .types import Receive, Scope, Send
from .wsgi import read_lane, run_in_lane

__all__: list[str] = []

_OTEL = "opentelemetry.instrumentation.django"


def handled_elsewhere() -> bool:
    """Return True when OpenTelemetry's Django middleware is in ``settings.MIDDLEWARE``."""
    from django.conf import settings

    try:
        middleware = getattr(settings, "MIDDLEWARE", None) or ()
    except Exception:  # settings not configured: Django itself will say so
        return False
    return any(str(name).startswith(_OTEL) for name in middleware)


def _install_wsgi(config: LaneConfig) -> Callable[[], None]:
    """Patch `WSGIHandler.__call__`; return the undo."""
    from django.core.handlers.wsgi import WSGIHandler

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def call(self: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if not switch.on or environ.get(LIFTED) or handled_elsewhere():
                return original(self, environ, start_response)  # type: ignore[no-any-return]
            environ[LIFTED] = True
            lane, trusted = read_lane(config, environ)
            app = functools.partial(original, self)
            return run_in_lane(app, config, lane, trusted, environ, start_response)

        return call

    return patch(WSGIHandler, "__call__", make)


def _install_asgi(config: LaneConfig) -> Callable[[], None]:
    """Patch `ASGIHandler.__call__`; return the undo."""
    from django.core.handlers.asgi import ASGIHandler

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
            if not switch.on or scope["type"] != "http" or scope.get(LIFTED) or handled_elsewhere():
                await original(self, scope, receive, send)
                return
            scope[LIFTED] = True
            lane, trusted = read_scope_lane(config, scope)
            app = functools.partial(original, self)
            await run_scope_in_lane(app, config, lane, trusted, scope, receive, send)

        return call

    return patch(ASGIHandler, "__call__", make)
