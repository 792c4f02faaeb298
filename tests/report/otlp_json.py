"""Build OTLP/JSON export requests (the Collector file exporter's lines) for report tests.

line = export_line([span("t1", "a", None, "productpage", lane="pr-7")])
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SERVER, CLIENT = 2, 3


@dataclass(frozen=True)
class SpanSpec:
    """The fields a report test sets on one span."""

    trace: str
    span: str
    parent: str | None
    service: str
    version: str | None = None  # the serving version's lane (service.lane); None: stable
    lane: str | None = None  # lane.id
    kind: int = SERVER
    start_ms: float = 0.0
    millis: float = 1.0
    error: bool = False
    name: str = "GET /"


def span(trace: str, span_id: str, parent: str | None, service: str, **fields: Any) -> SpanSpec:
    """A span of *service* in *trace* (ids are padded to OTLP's hex widths)."""
    return SpanSpec(trace, span_id, parent, service, **fields)


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _otlp(item: SpanSpec) -> dict[str, Any]:
    start = int(1_700_000_000e9 + item.start_ms * 1e6)
    encoded: dict[str, Any] = {
        "traceId": item.trace.rjust(32, "0"),
        "spanId": item.span.rjust(16, "0"),
        "parentSpanId": (item.parent or "").rjust(16, "0") if item.parent else "",
        "name": item.name,
        "kind": item.kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + int(item.millis * 1e6)),
        "attributes": [_attribute("lane.id", item.lane)] if item.lane else [],
        "status": {"code": 2} if item.error else {},
    }
    return encoded


def export_request(spans: Iterable[SpanSpec]) -> dict[str, Any]:
    """One export request with a resource per (service, version)."""
    grouped: dict[tuple[str, str | None], list[SpanSpec]] = defaultdict(list)
    for item in spans:
        grouped[(item.service, item.version)].append(item)
    resources = []
    for (service, version), items in grouped.items():
        attributes = [_attribute("service.name", service)]
        if version is not None:
            attributes.append(_attribute("service.lane", version))
        resources.append(
            {
                "resource": {"attributes": attributes},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": [_otlp(i) for i in items]}],
            }
        )
    return {"resourceSpans": resources}


def export_line(spans: Iterable[SpanSpec]) -> str:
    """The export request of *spans* as one JSON line."""
    return json.dumps(export_request(spans)) + "\n"


def bookinfo_trace(
    trace: str, lane: str | None, reviews: str | None, drop_at: str | None = None, **extra: Any
) -> list[SpanSpec]:
    """productpage -> details, productpage -> reviews -> ratings; *reviews* is its version.

    *drop_at* names the service whose server span (and all below it) lacks the lane.
    """
    dropped = {drop_at} | ({"ratings"} if drop_at == "reviews" else set())

    def lane_of(service: str) -> str | None:
        return None if service in dropped else lane

    return [
        span(trace, "1", None, "productpage", lane=lane_of("productpage"), **extra),
        span(trace, "2", "1", "productpage", lane=lane_of("productpage"), kind=CLIENT),
        span(trace, "3", "2", "details", lane=lane_of("details")),
        span(trace, "4", "1", "productpage", lane=lane_of("productpage"), kind=CLIENT),
        span(trace, "5", "4", "reviews", version=reviews, lane=lane_of("reviews")),
        span(trace, "6", "5", "ratings", lane=lane_of("ratings")),
    ]
