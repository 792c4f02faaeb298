"""What every bookinfo service does at startup: lanes, telemetry, its own version.

For example::

    from service_base import listen, start_service
    version = start_service("details")   # 'stable', or the lane of LANE_ID
    sock = listen(9080)                  # HOST:PORT; PORT=0 takes any free port

A process started with ``PORT=0`` binds a port of the system's choosing, so no other
process can take it first, and writes it to ``PORT_FILE`` for whoever started it.

`lanectx.instrument()` makes every server and client of the process carry the lane;
the OpenTelemetry SDK is configured only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set,
so spans then leave over OTLP/HTTP (protobuf).
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import lanectx

__all__ = ["announce", "listen", "start_service", "version"]


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


def announce(port: int) -> None:
    """Write the bound *port* to ``PORT_FILE``, if set, at once and whole (a rename)."""
    path = os.environ.get("PORT_FILE")
    if path:
        draft = Path(f"{path}.draft")
        draft.write_text(f"{port}\n", encoding="ascii")
        draft.replace(path)


def listen(default_port: int) -> socket.socket:
    """Return a TCP socket bound to ``HOST``:``PORT`` (defaults 0.0.0.0, *default_port*)
    and `announce` its port: the system's choice when ``PORT`` is 0."""
    host = os.environ.get("HOST", "0.0.0.0")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(os.environ.get("PORT", str(default_port)))))
    announce(sock.getsockname()[1])
    return sock
