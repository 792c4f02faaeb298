"""Flask apps lane-aware with ``lanectx.instrument()`` alone.

``instrument()`` runs every `flask.Flask` app (also one created before) in the
request's lane, its streamed response body included, with the trust settings
applied. An app whose ``wsgi_app`` is already wrapped in `lanectx.wsgi.LaneMiddleware`
or OpenTelemetry's WSGI middleware, or that OpenTelemetry's Flask instrumentation
handles, is left to them::

    lanectx.instrument()
    app = Flask(__name__)    # lanectx.current_lane() works in every view
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from ._auto import lift_wsgi
from ._config import LaneConfig
from ._patch import patch

__all__: list[str] = []


def handled_elsewhere(app: Any) -> bool:
    """Return True when something else already makes the lane current for *app*."""
    if getattr(app, "_is_instrumented_by_opentelemetry", False):
        return True
    wrapped = vars(app).get("wsgi_app")
    return type(wrapped).__name__ in ("LaneMiddleware", "OpenTelemetryMiddleware")


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `Flask.__call__`; return the undo."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def call(self: Flask, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if not switch.on or handled_elsewhere(self):
                return original(self, environ, start_response)  # type: ignore[no-any-return]
            return lift_wsgi(config, functools.partial(original, self), environ, start_response)

        return call

    return patch(Flask, "__call__", make)
