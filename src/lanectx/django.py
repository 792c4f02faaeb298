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

from ._auto import lift_asgi, lift_wsgi
from ._config import LaneConfig
from ._patch import patch
from .types import Receive, Scope, Send

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
            if not switch.on or handled_elsewhere():
                return original(self, environ, start_response)  # type: ignore[no-any-return]
            return lift_wsgi(config, functools.partial(original, self), environ, start_response)

        return call

    return patch(WSGIHandler, "__call__", make)


def _install_asgi(config: LaneConfig) -> Callable[[], None]:
    """Patch `ASGIHandler.__call__`; return the undo."""
    from django.core.handlers.asgi import ASGIHandler

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
            if not switch.on or handled_elsewhere():
                await original(self, scope, receive, send)
                return
            await lift_asgi(config, functools.partial(original, self), scope, receive, send)

        return call

    return patch(ASGIHandler, "__call__", make)
