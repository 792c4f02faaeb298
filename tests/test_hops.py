"""Hop outcome: lane.hop on server spans, the x-lane-served header, the hop counter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as AsgiOtel
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WsgiOtel
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind

import lanectx
import lanectx.telemetry
from lanectx import _hop, asgi, wsgi
from lanectx.exceptions import ConfigurationError
from lanectx.telemetry import HOP_METRIC, LaneSpanProcessor

from .servers import run_uvicorn, run_wsgi


@dataclass
class Telemetry:
    """An SDK tracer provider with lanectx's processor, its spans and its hop counts."""

    provider: TracerProvider
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def server_spans(self) -> list[dict[str, Any]]:
        """Attributes of the finished server spans, in end order."""
        finished = self.spans.get_finished_spans()
        return [dict(s.attributes or {}) for s in finished if s.kind == SpanKind.SERVER]

    def hops(self) -> dict[tuple[tuple[str, str], ...], int]:
        """Counts of lanectx.hops by their sorted label pairs."""
        data = self.metrics.get_metrics_data()
        counts: dict[tuple[tuple[str, str], ...], int] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != HOP_METRIC:
                        continue
                    for point in metric.data.data_points:
                        labels = tuple(sorted((k, str(v)) for k, v in point.attributes.items()))
                        counts[labels] = int(point.value)
        return counts


def _telemetry(config: lanectx.LaneConfig | None = None) -> Telemetry:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    provider = TracerProvider(resource=Resource.create({"service.name": "reviews"}))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(LaneSpanProcessor(config, meter_provider=meters))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Telemetry(provider, exporter, reader)


@pytest.fixture
def own_lane(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Set this process's own lane (LANE_ID) for the test; the cached value is reset."""

    def set_lane(lane: str | None) -> None:
        monkeypatch.delenv("PR_ID", raising=False)
        if lane is None:
            monkeypatch.delenv("LANE_ID", raising=False)
        else:
            monkeypatch.setenv("LANE_ID", lane)
        _hop.own_lane.cache_clear()

    yield set_lane
    _hop.own_lane.cache_clear()


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = (lanectx.current_lane() or "-").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [(lanectx.current_lane() or "-").encode()]


def _asgi_server(telemetry: Telemetry, config: lanectx.LaneConfig) -> AbstractContextManager[str]:
    inner = asgi.LaneMiddleware(_asgi_app, config)
    return run_uvicorn(AsgiOtel(inner, tracer_provider=telemetry.provider))


def _wsgi_server(telemetry: Telemetry, config: lanectx.LaneConfig) -> AbstractContextManager[str]:
    inner = wsgi.LaneMiddleware(_wsgi_app, config)
    return run_wsgi(WsgiOtel(inner, tracer_provider=telemetry.provider))


SERVERS = {"asgi": _asgi_server, "wsgi": _wsgi_server}
REQUESTS = [({"x-lane-id": "pr-7"}, "hit"), ({"x-pr-id": "9"}, "fallback"), ({}, "none")]


@pytest.mark.parametrize("server", sorted(SERVERS))
@pytest.mark.parametrize("instrumented", [True, False], ids=["propagator", "middleware"])
def test_server_spans_carry_the_hop_outcome(
    server: str, instrumented: bool, own_lane: Callable[[str | None], None]
) -> None:
    """In lane pr-7: a pr-7 request is a hit, pr-9 a fallback, no lane none; each counted once."""
    own_lane("pr-7")
    config = lanectx.LaneConfig(served_header="x-lane-served")
    if instrumented:
        lanectx.instrument(config)
    telemetry = _telemetry(config)
    with SERVERS[server](telemetry, config) as url:
        for headers, _ in REQUESTS:
            answer = httpx.get(url, headers=headers)
            assert answer.status_code == 200
            assert answer.headers["x-lane-served"] == "pr-7"
    spans = telemetry.server_spans()
    assert [s.get("lane.hop") for s in spans] == [outcome for _, outcome in REQUESTS]
    assert [s.get("lane.id") for s in spans] == ["pr-7", "pr-9", None]
    assert telemetry.hops() == {
        (("outcome", outcome), ("service", "reviews")): 1 for _, outcome in REQUESTS
    }


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_served_header_is_off_by_default_and_says_stable(
    server: str, own_lane: Callable[[str | None], None]
) -> None:
    """Without served_header no x-lane-served; with it, a stable process says 'stable'."""
    own_lane(None)
    for config, expected in (
        (lanectx.LaneConfig(), None),
        (lanectx.LaneConfig(served_header="X-Served-By"), "stable"),
    ):
        with SERVERS[server](_telemetry(config), config) as url:
            answer = httpx.get(url, headers={"x-lane-id": "pr-7"})
        assert answer.text == "pr-7"
        assert answer.headers.get("x-lane-served") is None
        assert answer.headers.get("x-served-by") == expected


def test_metric_lane_label_only_when_asked(own_lane: Callable[[str | None], None]) -> None:
    """The counter has no lane label by default; hop_metric_lane=True adds it."""
    own_lane(None)
    telemetry = _telemetry(lanectx.LaneConfig())
    tracer = telemetry.provider.get_tracer("t")
    for lane in ("pr-3", "pr-4"):
        with lanectx.use_lane(lane), tracer.start_as_current_span("s", kind=SpanKind.SERVER):
            pass
    assert telemetry.hops() == {(("outcome", "fallback"), ("service", "reviews")): 2}
    telemetry = _telemetry(lanectx.LaneConfig(hop_metric_lane=True))
    tracer = telemetry.provider.get_tracer("t")
    with lanectx.use_lane("pr-3"), tracer.start_as_current_span("s", kind=SpanKind.CONSUMER):
        pass
    labels = (("lane", "pr-3"), ("outcome", "fallback"), ("service", "reviews"))
    assert telemetry.hops() == {labels: 1}


def test_mark_hop_from_a_consume_path(own_lane: Callable[[str | None], None]) -> None:
    """mark_hop() on a consume span started before the lane was known sets and counts it."""
    own_lane("pr-4")
    telemetry = _telemetry()
    tracer = telemetry.provider.get_tracer("t")
    with tracer.start_as_current_span("poll", kind=SpanKind.CONSUMER) as span:
        assert span.attributes is not None
        assert span.attributes["lane.hop"] == "none"
        assert lanectx.mark_hop(span, "pr-4") == "hit"
    with tracer.start_as_current_span("work") as span:  # internal: not a hop by itself
        pass
    (consume, internal) = [dict(s.attributes or {}) for s in telemetry.spans.get_finished_spans()]
    assert consume == {"lane.id": "pr-4", "lane.hop": "hit"}
    assert internal == {}
    assert telemetry.hops() == {(("outcome", "hit"), ("service", "reviews")): 1}


def test_mark_hop_leaves_a_non_recording_span_alone(
    own_lane: Callable[[str | None], None],
) -> None:
    """A span that does not record gets nothing set and the outcome is still returned."""
    own_lane(None)
    span = NonRecordingSpan(SpanContext(1, 2, False))
    assert lanectx.mark_hop(span, "pr-1") == "fallback"
    assert lanectx.mark_hop(span, None) == "none"


def test_unknown_hop_values_are_not_counted() -> None:
    """A span whose lane.hop was overwritten with another value adds no metric series."""
    telemetry = _telemetry()
    tracer = telemetry.provider.get_tracer("t")
    with tracer.start_as_current_span("s", kind=SpanKind.SERVER) as span:
        span.set_attribute("lane.hop", "pr-123")
    assert telemetry.hops() == {}


def test_served_header_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANECTX_SERVED_HEADER names the header (empty: none); a bad name is an error."""
    assert lanectx.LaneConfig.from_env({}).served_header is None
    env = {"LANECTX_SERVED_HEADER": "X-Lane-Served", "LANECTX_HOP_METRIC_LANE": "yes"}
    config = lanectx.LaneConfig.from_env(env)
    assert (config.served_header, config.hop_metric_lane) == ("x-lane-served", True)
    assert lanectx.LaneConfig.from_env({"LANECTX_SERVED_HEADER": " "}).served_header is None
    with pytest.raises(ConfigurationError):
        lanectx.LaneConfig(served_header="x lane")
    with pytest.raises(ConfigurationError):
        lanectx.LaneConfig.from_env({"LANECTX_HOP_METRIC_LANE": "maybe"})


def test_a_hop_marked_on_another_kind_of_span_is_counted(
    own_lane: Callable[[str | None], None],
) -> None:
    """mark_hop() on an internal span (a task runner's) makes it a counted hop too."""
    own_lane(None)
    telemetry = _telemetry()
    tracer = telemetry.provider.get_tracer("t")
    with tracer.start_as_current_span("task") as span:
        assert lanectx.mark_hop(span, "pr-6") == "fallback"
        assert lanectx.mark_hop(span, "pr-6") == "fallback"  # a second mark changes nothing
    (task,) = [dict(s.attributes or {}) for s in telemetry.spans.get_finished_spans()]
    assert task == {"lane.id": "pr-6", "lane.hop": "fallback"}
    assert telemetry.hops() == {(("outcome", "fallback"), ("service", "reviews")): 1}


def test_processors_sharing_a_meter_provider_count_together(
    own_lane: Callable[[str | None], None],
) -> None:
    """Two tracer providers' processors on one meter provider: every hop of both is counted."""
    own_lane(None)
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    tracers = []
    for _ in range(2):
        provider = TracerProvider(resource=Resource.create({"service.name": "reviews"}))
        provider.add_span_processor(LaneSpanProcessor(meter_provider=meters))
        tracers.append(provider.get_tracer("t"))
    for tracer, count in zip(tracers, (2, 3), strict=True):
        for _ in range(count):
            with tracer.start_as_current_span("s", kind=SpanKind.SERVER):
                pass
    telemetry = Telemetry(TracerProvider(), InMemorySpanExporter(), reader)
    assert telemetry.hops() == {(("outcome", "none"), ("service", "reviews")): 5}


def test_hops_from_many_threads_are_all_counted(own_lane: Callable[[str | None], None]) -> None:
    """Server spans ending at once on 8 threads: no count is lost."""
    own_lane(None)
    telemetry = _telemetry()
    tracer = telemetry.provider.get_tracer("t")

    def serve() -> None:
        for _ in range(2000):
            with tracer.start_as_current_span("s", kind=SpanKind.SERVER):
                pass

    threads = [threading.Thread(target=serve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert telemetry.hops() == {(("outcome", "none"), ("service", "reviews")): 16000}


def test_lane_labels_are_bounded(
    own_lane: Callable[[str | None], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_HOP_SERIES series, new lanes' hops count without a lane label: none lost."""
    own_lane(None)
    monkeypatch.setattr(lanectx.telemetry, "MAX_HOP_SERIES", 3)
    telemetry = _telemetry(lanectx.LaneConfig(hop_metric_lane=True))
    tracer = telemetry.provider.get_tracer("t")
    for lane in ("pr-1", "pr-2", "pr-3", "pr-4", "pr-5", "pr-1"):
        with lanectx.use_lane(lane), tracer.start_as_current_span("s", kind=SpanKind.SERVER):
            pass
    base = (("outcome", "fallback"), ("service", "reviews"))
    assert telemetry.hops() == {
        (("lane", "pr-1"), *base): 2,
        (("lane", "pr-2"), *base): 1,
        (("lane", "pr-3"), *base): 1,
        base: 2,
    }
