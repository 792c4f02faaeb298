"""Edge middleware: give a request without a lane the lane of the first matching rule.

Place it at the edge service only (``edge=True`` or ``LANECTX_EDGE=true``); elsewhere
it passes requests through. It also does `lanectx.asgi.LaneMiddleware`'s job, so use
it instead of that one::

    app = ColouringMiddleware(app, "colouring.yaml", edge=True)          # ASGI
    wsgi_app = WSGIColouringMiddleware(wsgi_app, rules, edge=True)      # WSGI

A request with a valid lane (``x-lane-id``, ``x-pr-id``, baggage) keeps it. Otherwise
the chosen lane is written into the request as the lane header (``x-lane-id``), so
the app and everything after see it exactly as if the caller had sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from opentelemetry.metrics import MeterProvider

from .._config import LaneConfig, active_config
from ..asgi import read_lane, run_in_lane
from ..types import ASGIApp, Receive, Scope, Send
from ..wsgi import WSGIApp
from ..wsgi import read_lane as read_wsgi_lane
from ..wsgi import run_in_lane as run_wsgi_in_lane
from ._edge import ColouringTelemetry, edge_from_env, rules_from
from ._request import Request
from ._rules import Rules

__all__ = ["STATE_KEY", "ColouringMiddleware", "WSGIColouringMiddleware"]

STATE_KEY = "lane_rule"
"""Key of the colouring rule's name in the ASGI ``scope["state"]`` / WSGI environ."""


class _Edge:
    """The settings both colouring middlewares share: edge switch, rules, config, telemetry."""

    def __init__(
        self,
        rules: Rules | str | Path | None,
        config: LaneConfig | None,
        edge: bool | None,
        meter_provider: MeterProvider | None,
    ) -> None:
        self.edge = edge_from_env() if edge is None else edge
        self.rules = rules_from(rules, self.edge)
        self.config = config
        self._telemetry = ColouringTelemetry(meter_provider)


class ColouringMiddleware(_Edge):
    """Pure-ASGI: colour lane-less HTTP/WebSocket requests by *rules*, then run them in the lane.

    *rules*: `Rules`, a rules file path, or None for ``LANECTX_COLOURING_RULES``.
    *edge*: None reads ``LANECTX_EDGE``; not the edge, requests only pass through
    `LaneMiddleware`. The rule's name goes to span attribute ``lane.rule``, to
    ``scope["state"]["lane_rule"]`` and to counter ``lanectx.colouring.requests``
    (of *meter_provider*, default the global one).
    """

    def __init__(
        self,
        app: ASGIApp,
        rules: Rules | str | Path | None = None,
        *,
        config: LaneConfig | None = None,
        edge: bool | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        super().__init__(rules, config, edge, meter_provider)
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config or active_config()
        if scope["type"] not in ("http", "websocket") or not config.enabled:
            await self._app(scope, receive, send)
            return
        lane, trusted = read_lane(config, scope)
        if self.edge and lane is None:
            rule = self.rules.colour(Request.from_asgi(scope))
            header = config.first_header or config.outbound_header
            if rule is not None and header is not None:
                # The edge's own choice: honoured whoever the caller is.
                lane, trusted = rule.lane, True
                name = header.encode("latin-1")
                headers = [item for item in scope["headers"] if item[0] != name]
                headers.append((name, rule.lane.encode("latin-1")))
                scope = {**scope, "headers": headers}
                scope.setdefault("state", {})[STATE_KEY] = rule.name
                self._telemetry.record(rule)
        await run_in_lane(self._app, config, lane, trusted, scope, receive, send)


class WSGIColouringMiddleware(_Edge):
    """WSGI: colour lane-less requests by *rules*, then run them in the lane (see above).

    The rule's name is put in ``environ["lane_rule"]``.
    """

    def __init__(
        self,
        app: WSGIApp,
        rules: Rules | str | Path | None = None,
        *,
        config: LaneConfig | None = None,
        edge: bool | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        super().__init__(rules, config, edge, meter_provider)
        self._app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        config = self.config or active_config()
        if not config.enabled:
            return self._app(environ, start_response)
        lane, trusted = read_wsgi_lane(config, environ)
        if self.edge and lane is None:
            rule = self.rules.colour(Request.from_environ(environ))
            header = config.first_header or config.outbound_header
            if rule is not None and header is not None:
                lane, trusted = rule.lane, True  # the edge's own choice
                key = "HTTP_" + header.upper().replace("-", "_")
                environ = {**environ, key: rule.lane, STATE_KEY: rule.name}
                self._telemetry.record(rule)
        return run_wsgi_in_lane(self._app, config, lane, trusted, environ, start_response)
