"""What every bookinfo service does at startup: lanes, telemetry, its own version.

For example::

    from service_base import start_service
    version = start_service("details")   # 'stable', or the lane of LANE_ID

`lanectx.instrument()` makes every server and client of the process carry the lane;
the OpenTelemetry SDK is configured only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set,
so spans then leave over OTLP/HTTP (protobuf).
"""

from __future__ import annotations

import logging
import os

import lanectx

__all__ = ["start_service", "version"]


def version() -> str:
    """Return the version this process serves: its lane (``LANE_ID``), else ``stable``."""
    return os.environ.get("LANE_ID") or "stable"


def _configure_tracing(service: str) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)}
    provider = TracerProvider(resource=Resource.create({**attributes, **lanectx.resource()}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def start_service(service: str) -> str:
    """Turn on lane propagation (and OTLP tracing when configured); return the version."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {service} %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    lanectx.instrument()
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        _configure_tracing(service)
    return version()
