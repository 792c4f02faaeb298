"""Starlette and FastAPI apps lane-aware with ``lanectx.instrument()`` alone.

``instrument()`` wraps each app's middleware stack in `lanectx.asgi.LaneMiddleware`
when the app serves its first request (also an app created before), unless the
app already lists `LaneMiddleware` or OpenTelemetry's ASGI middleware, or OpenTelemetry's
FastAPI instrumentation added its own::

    lanectx.instrument()
    app = FastAPI()          # lanectx.current_lane() works in every endpoint

`uninstrument()` makes the wrapper a pass-through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette

from ._config import LaneConfig
from ._patch import patch
from .asgi import LaneMiddleware
from .types import ASGIApp, Receive, Scope, Send

__all__: list[str] = []


def lifts_lanes(middleware: Any) -> bool:
    """Return True for a middleware class that already makes the request's lane current."""
    cls = getattr(middleware, "cls", middleware)
    if isinstance(cls, type) and issubclass(cls, LaneMiddleware):
        return True
    return getattr(cls, "__name__", "") == "OpenTelemetryMiddleware"


def handled_elsewhere(app: Starlette) -> bool:
    """Return True when the app's stack already lifts the lane (listed, or OTel's FastAPI)."""
    if getattr(app, "_is_instrumented_by_opentelemetry", False):
        return True  # FastAPIInstrumentor puts OpenTelemetryMiddleware into the stack
    return any(lifts_lanes(m) for m in app.user_middleware)


class _AutoLane(LaneMiddleware):
    """`LaneMiddleware` added by ``instrument()``: a pass-through once uninstrumented."""

    def __init__(self, app: ASGIApp, config: LaneConfig, switch: Any) -> None:
        super().__init__(app, config)
        self._switch = switch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._switch.on:
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `Starlette.__call__` to wrap each app's stack once; return the undo."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def call(self: Starlette, scope: Scope, receive: Receive, send: Send) -> None:
            if switch.on and self.middleware_stack is None:
                stack = self.build_middleware_stack()
                if not handled_elsewhere(self):
                    stack = _AutoLane(stack, config, switch)
                self.middleware_stack = stack
            await original(self, scope, receive, send)

        return call

    return patch(Starlette, "__call__", make)
