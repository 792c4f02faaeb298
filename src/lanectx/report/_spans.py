"""Spans as the report needs them, read from OTLP JSON (the Collector's file exporter).

    spans = read_files([Path("traces.jsonl")])

Each line of such a file is one ``ExportTraceServiceRequest`` in the OTLP/JSON
encoding (``{"resourceSpans": [...]}``, ids as hex, 64-bit integers as strings).
A line that is not such JSON is skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ERROR", "SERVER_KINDS", "Span", "SpanReader", "read_files"]

STABLE = "stable"

logger = logging.getLogger("lanectx")

SERVER, CONSUMER = 2, 5
SERVER_KINDS = frozenset((SERVER, CONSUMER))
ERROR = 2  # STATUS_CODE_ERROR
_KIND_NAMES = {"SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4}
_KIND_NAMES |= {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_CONSUMER": 5}
_MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Span:
    """One span: where it ran (service, its version's lane) and the lane it carried."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start: int
    end: int
    service: str
    service_lane: str | None
    lane: str | None
    hop: str | None
    error: bool

    @property
    def is_hop(self) -> bool:
        """True for a server or message-consume span."""
        return self.kind in SERVER_KINDS

    @property
    def version(self) -> str:
        """The version that ran the span: its service's lane, else ``stable``."""
        return self.service_lane or STABLE

    @property
    def millis(self) -> float:
        """The span's duration in milliseconds (0 when its times are missing or reversed)."""
        return max(self.end - self.start, 0) / 1e6


def _value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return None
    for key in ("stringValue", "intValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            found[item["key"]] = _value(item.get("value"))
    return found


def _text(value: Any) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) and value else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _kind(value: Any) -> int:
    return _KIND_NAMES.get(value, 0) if isinstance(value, str) else _int(value)


def _failed(span: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    status = span.get("status")
    code = status.get("code") if isinstance(status, Mapping) else None
    if code in (ERROR, "STATUS_CODE_ERROR"):
        return True
    http = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    return _int(http) >= 500


class SpanReader:
    """Turns OTLP/JSON export requests into `Span` objects; counts what it had to skip."""

    def __init__(self) -> None:
        self.skipped = 0

    def spans(self, request: Any) -> Iterator[Span]:
        """Yield the spans of one decoded export request (bad parts are skipped)."""
        if not isinstance(request, Mapping) or not isinstance(request.get("resourceSpans"), list):
            self.skipped += 1
            return
        for resource_spans in request["resourceSpans"]:
            scopes = resource_spans.get("scopeSpans") if isinstance(resource_spans, Mapping) else 0
            if not isinstance(scopes, list):
                self.skipped += 1
                continue
            resource = resource_spans.get("resource")
            own = _attributes(resource.get("attributes") if isinstance(resource, Mapping) else [])
            service = _text(own.get("service.name")) or "unknown"
            service_lane = _text(own.get("service.lane"))
            if service_lane == STABLE:  # the shipped collector config names stable so
                service_lane = None
            for scope in scopes:
                spans = scope.get("spans") if isinstance(scope, Mapping) else 0
                if not isinstance(spans, list):
                    self.skipped += 1
                    continue
                for span in spans:
                    made = self._span(span, service, service_lane)
                    if made is not None:
                        yield made

    def _span(self, span: Any, service: str, service_lane: str | None) -> Span | None:
        if not isinstance(span, Mapping):
            self.skipped += 1
            return None
        trace_id, span_id = _text(span.get("traceId")), _text(span.get("spanId"))
        if trace_id is None or span_id is None:
            self.skipped += 1
            return None
        attributes = _attributes(span.get("attributes"))
        return Span(
            trace_id=trace_id.lower(),
            span_id=span_id.lower(),
            parent_id=(_text(span.get("parentSpanId")) or "").lower(),
            name=_text(span.get("name")) or "?",
            kind=_kind(span.get("kind")),
            start=_int(span.get("startTimeUnixNano")),
            end=_int(span.get("endTimeUnixNano")),
            service=service,
            service_lane=service_lane,
            lane=_text(attributes.get("lane.id")),
            hop=_text(attributes.get("lane.hop")),
            error=_failed(span, attributes),
        )

    def lines(self, lines: Iterable[str | bytes]) -> Iterator[Span]:
        """Yield the spans of JSON lines (one export request each; blank lines are fine)."""
        for line in lines:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                self.skipped += 1
                continue
            yield from self.spans(request)


def read_files(paths: Iterable[Path]) -> tuple[list[Span], int]:
    """Return the spans of OTLP/JSON files and how many bad lines or spans were skipped."""
    reader = SpanReader()
    spans: list[Span] = []
    for path in paths:
        with path.open("rb") as handle:
            spans.extend(reader.lines(handle))
    if reader.skipped:
        logger.warning("lanectx report: skipped %d unreadable lines or spans", reader.skipped)
    return spans, reader.skipped
