"""A tiny OTLP/HTTP trace receiver: ``POST /v1/traces`` with protobuf, spans kept in memory.

For example::

    with OtlpReceiver() as receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
        spans = receiver.spans_of(trace_id)

It speaks the real protocol (``ExportTraceServiceRequest`` from opentelemetry-proto),
so the services use the stock ``opentelemetry-exporter-otlp`` exporter.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["OtlpReceiver", "ReceivedSpan"]


@dataclass(frozen=True)
class ReceivedSpan:
    """What the demo shows of one span: where it ran, and the lanes it carries."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start: int
    service: str
    service_lane: str | None
    lane_id: str | None

    @property
    def fallback(self) -> bool:
        """True on a hop served by a version that is not the request's lane."""
        return self.lane_id is not None and self.lane_id != (self.service_lane or "stable")


def _value(any_value: Any) -> Any:
    return getattr(any_value, any_value.WhichOneof("value") or "string_value")


def _attributes(items: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items}


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint on 127.0.0.1 (a thread); a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.add(request)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def add(self, request: ExportTraceServiceRequest) -> None:
        """Keep the spans of one export request."""
        spans = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = _attributes(span.attributes)
                    spans.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            start=span.start_time_unix_nano,
                            service=str(resource.get("service.name", "?")),
                            service_lane=resource.get("service.lane"),
                            lane_id=attributes.get("lane.id"),
                        )
                    )
        with self._lock:
            self._spans.extend(spans)

    def spans_of(self, trace_id: str) -> list[ReceivedSpan]:
        """Return the spans of *trace_id* received so far, in start order."""
        with self._lock:
            return sorted((s for s in self._spans if s.trace_id == trace_id), key=lambda s: s.start)

    def wait_for(
        self, trace_id: str, services: set[str], timeout: float = 5.0
    ) -> list[ReceivedSpan]:
        """Wait until *trace_id* has a server span from each of *services*; return its spans."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans_of(trace_id)
            seen = {s.service for s in spans if s.kind == 2}  # SPAN_KIND_SERVER
            if services <= seen or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
