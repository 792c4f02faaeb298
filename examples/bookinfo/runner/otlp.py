"""The demo's trace sink: lanectx's OTLP/HTTP receiver, with the spans also kept in memory.

For example::

    with OtlpReceiver(run_dir / "traces.jsonl") as receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
        spans = receiver.spans_of(trace_id)

It is ``lanectx.report.OtlpReceiver`` (the real protocol, so the services use the
stock ``opentelemetry-exporter-otlp`` exporter), which writes every request to a
file as the Collector's file exporter does: ``lanectx report`` reads that file.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from lanectx.report import OtlpReceiver as FileReceiver
from lanectx.report import SpanReader

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


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint on 127.0.0.1 writing to *output*; a context manager."""

    def __init__(self, output: Path | None = None) -> None:
        if output is None:
            output = Path(tempfile.mkdtemp(prefix="bookinfo-otlp-")) / "traces.jsonl"
        self.output = output
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._reader = SpanReader()
        self._receiver = FileReceiver(output, on_request=self.add)

    @property
    def endpoint(self) -> str:
        """The base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return self._receiver.endpoint

    def add(self, request: dict[str, Any]) -> None:
        """Keep the spans of one export request (OTLP/JSON)."""
        spans = [
            ReceivedSpan(
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_id=span.parent_id,
                name=span.name,
                kind=span.kind,
                start=span.start,
                service=span.service,
                service_lane=span.service_lane,
                lane_id=span.lane,
            )
            for span in self._reader.spans(request)
        ]
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
        self._receiver.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._receiver.close()
