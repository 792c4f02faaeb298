"""The four server stacks the server benchmarks compare, for ASGI (Starlette) and WSGI.

    app = asgi_app("otel+lanectx")   # also "bare", "lift", "otel"
    app = wsgi_app("lift")

- ``bare``: a hello app; ``lift``: lanectx's `LaneMiddleware` around it;
- ``otel``: OpenTelemetry's middleware with an SDK provider (batch processor, no-op
  exporter); ``otel+lanectx``: the same, plus `LaneSpanProcessor` on the provider
  and ``lanectx.instrument()`` (the global propagator reads the lane). Call
  `lanectx_on` / `lanectx_off` around the ``otel+lanectx`` runs when several stacks
  share one process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WsgiOpenTelemetry
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import lanectx
import lanectx.asgi
import lanectx.wsgi
from lanectx.telemetry import LaneSpanProcessor

VARIANTS = ("bare", "lift", "otel", "otel+lanectx")


class _NoExport(SpanExporter):  # type: ignore[misc]
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _provider(with_lane: bool) -> TracerProvider:
    provider = TracerProvider()
    if with_lane:
        provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(BatchSpanProcessor(_NoExport()))
    return provider


async def _hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


def asgi_app(variant: str) -> Any:
    """Return the Starlette hello app wrapped as *variant* says."""
    app: Any = Starlette(routes=[Route("/", _hello)])
    if variant == "lift":
        return lanectx.asgi.LaneMiddleware(app)
    if variant.startswith("otel"):
        provider = _provider(variant == "otel+lanectx")
        return OpenTelemetryMiddleware(app, tracer_provider=provider)
    return app


def _wsgi_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain"), ("content-length", "5")])
    return [b"hello"]


def wsgi_app(variant: str) -> Any:
    """Return a plain WSGI hello app wrapped as *variant* says."""
    if variant == "lift":
        return lanectx.wsgi.LaneMiddleware(_wsgi_hello)
    if variant.startswith("otel"):
        provider = _provider(variant == "otel+lanectx")
        return WsgiOpenTelemetry(_wsgi_hello, tracer_provider=provider)
    return _wsgi_hello


def lanectx_on(variant: str) -> None:
    """Instrument lanectx if *variant* needs it (global propagator with the lane)."""
    if variant == "otel+lanectx" and not lanectx.is_instrumented():
        lanectx.instrument()


def lanectx_off() -> None:
    """Undo `lanectx_on`."""
    if lanectx.is_instrumented():
        lanectx.uninstrument()
