"""WSGI middleware that makes the request's lane current for the app.

For apps served without OpenTelemetry's WSGI middleware::

    app = LaneMiddleware(app)

The lane stays current while the server iterates a streamed response body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig, active_config
from ._hop import served_by
from ._lane import environ_values, lane_from_environ, scrub_environ
from ._server import LIFTED, request_context

__all__ = ["LaneMiddleware", "read_lane", "run_in_lane"]

_BAGGAGE = "HTTP_BAGGAGE"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LaneMiddleware:
    """Read the lane from the WSGI environ and run the app (and its body) in it.

    An untrusted caller's lane is ignored and its lane headers are removed from the
    environ, so an OpenTelemetry middleware inside this one cannot extract them
    again. Other baggage members become part of the request's context.
    With `LaneConfig.served_header` set, responses say which version served them.
    """

    def __init__(self, app: WSGIApp, config: LaneConfig | None = None) -> None:
        self.app = app
        self.config = config

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        config = self.config or active_config()
        if not config.enabled or environ.get(LIFTED):
            return self.app(environ, start_response)
        environ[LIFTED] = True
        if config.served_header is not None:
            start_response = _served_start(start_response, config.served_header)
        lane, trusted = read_lane(config, environ)
        return run_in_lane(self.app, config, lane, trusted, environ, start_response)


def _served_start(start_response: Callable[..., Any], header: str) -> Callable[..., Any]:
    """Return *start_response* adding ``<header>: <this version>`` to the headers."""
    served = (header, served_by())

    def start_served(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        return start_response(status, [*headers, served], *args)

    return start_served


def read_lane(config: LaneConfig, environ: dict[str, Any]) -> tuple[str | None, bool]:
    """Return (the request's lane, whether its caller may choose one); the lane is None if not."""
    if not config.trust_all and not config.caller_trusted(
        environ.get("REMOTE_ADDR"), environ_values(environ)(config.trust_header or "")
    ):
        return None, False
    return lane_from_environ(config, environ), True


def run_in_lane(
    app: WSGIApp,
    config: LaneConfig,
    lane: str | None,
    trusted: bool,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Iterable[bytes]:
    """Run *app* (and its body) with *lane* current (no lane when not *trusted*)."""
    sent = environ.get(_BAGGAGE)
    ctx = request_context(config, lane, trusted, (sent,) if isinstance(sent, str) else None)
    if not trusted:
        scrub_environ(config, environ)
    if ctx is None:
        return app(environ, start_response)
    token = context.attach(ctx)
    try:
        body = app(environ, start_response)
    finally:
        context.detach(token)
    if isinstance(body, (list, tuple)):
        return body
    return _InContext(body, ctx)


class _InContext:
    """A response body iterated (and closed) with the request's context attached."""

    def __init__(self, body: Iterable[bytes], ctx: Context) -> None:
        self._body = body
        self._iter: Iterator[bytes] = iter(body)
        self._ctx = ctx

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        token = context.attach(self._ctx)
        try:
            return next(self._iter)
        finally:
            context.detach(token)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            token = context.attach(self._ctx)
            try:
                close()
            finally:
                context.detach(token)
