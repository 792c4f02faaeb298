"""Edge colouring middleware on real servers: precedence, edge switch, propagation, telemetry."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as OtelASGI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lanectx
from lanectx.colouring import ColouringMiddleware, Rules, WSGIColouringMiddleware, parse_rules
from lanectx.exceptions import ConfigurationError

from ..servers import CaptureServer, run_uvicorn, run_wsgi

RULES = {
    "rules": [
        {"name": "qa-team", "match": {"header": {"name": "agent", "exact": "pc"}}, "lane": "pr-42"},
        {"name": "callback", "match": {"host": {"exact": "aaa.com"}}, "lane": "release-aaa"},
    ]
}


def _rules() -> Rules:
    return parse_rules(RULES)


def _asgi_app(downstream: str) -> Any:
    """An edge app answering its lane and rule, after calling *downstream* with httpx."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        async with httpx.AsyncClient() as client:
            await client.get(downstream)
        headers = dict(scope["headers"])
        body = json.dumps(
            {
                "lane": lanectx.current_lane(),
                "rule": scope.get("state", {}).get("lane_rule"),
                "header": (headers.get(b"x-lane-id") or b"").decode() or None,
            }
        ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


CASES = [
    ([("agent", "pc")], "pr-42", "qa-team"),
    ([("host", "aaa.com")], "release-aaa", "callback"),
    ([("agent", "pc"), ("x-lane-id", "pr-7")], "pr-7", None),
    ([("agent", "pc"), ("x-pr-id", "9")], "pr-9", None),
    ([("agent", "pc"), ("baggage", "a=1, lane=pr-8")], "pr-8", None),
    ([("agent", "pc"), ("x-lane-id", "Not A Lane")], "pr-42", "qa-team"),
    ([("agent", "mac")], None, None),
]


def test_edge_colours_only_requests_without_a_valid_lane(capture: CaptureServer) -> None:
    """An explicit valid lane wins; else the first matching rule's lane is current and sent on."""
    lanectx.instrument()
    app = ColouringMiddleware(_asgi_app(capture.url), _rules(), edge=True)
    with run_uvicorn(app) as url, httpx.Client() as client:
        for headers, lane, rule in CASES:
            answer = client.get(url, headers=headers).json()
            assert (answer["lane"], answer["rule"]) == (lane, rule), headers
            if rule is not None:
                assert answer["header"] == lane
            sent = capture.requests[-1]["headers"]
            assert sent.get("x-lane-id") == lane, headers
            others = "a=1," if ("baggage", "a=1, lane=pr-8") in headers else ""
            assert sent.get("baggage", "lane=") == f"{others}lane={lane or ''}", headers


def test_inner_service_never_colours(capture: CaptureServer) -> None:
    """With edge=False the middleware only carries the lane it was given."""
    lanectx.instrument()
    app = ColouringMiddleware(_asgi_app(capture.url), _rules(), edge=False)
    with run_uvicorn(app) as url:
        assert httpx.get(url, headers={"agent": "pc"}).json()["lane"] is None
        assert httpx.get(url, headers={"agent": "pc", "x-pr-id": "3"}).json()["lane"] == "pr-3"


def test_edge_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANECTX_EDGE=true marks the edge; unset means inner; a bad value is refused."""
    monkeypatch.delenv("LANECTX_EDGE", raising=False)
    assert ColouringMiddleware(_asgi_app(""), _rules()).edge is False
    monkeypatch.setenv("LANECTX_EDGE", "true")
    assert ColouringMiddleware(_asgi_app(""), _rules()).edge is True
    monkeypatch.setenv("LANECTX_EDGE", "maybe")
    with pytest.raises(ConfigurationError, match="LANECTX_EDGE='maybe'"):
        ColouringMiddleware(_asgi_app(""), _rules())


def test_edge_without_rules_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edge service must be given rules (argument or LANECTX_COLOURING_RULES)."""
    monkeypatch.delenv("LANECTX_COLOURING_RULES", raising=False)
    with pytest.raises(ConfigurationError, match="edge colouring needs rules"):
        ColouringMiddleware(_asgi_app(""), edge=True)
    assert len(ColouringMiddleware(_asgi_app(""), edge=False).rules) == 0


def test_rule_is_recorded_on_the_server_span_and_counter(capture: CaptureServer) -> None:
    """The server span gets lane.rule and lane.id; the counter counts requests per rule."""
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    inner = ColouringMiddleware(_asgi_app(capture.url), _rules(), edge=True, meter_provider=meters)
    with run_uvicorn(OtelASGI(inner, tracer_provider=provider)) as url:
        for headers in ({"agent": "pc"}, {"agent": "pc"}, {"host": "aaa.com"}, {}):
            httpx.get(url, headers=headers)
    server = [span for span in spans.get_finished_spans() if span.kind.name == "SERVER"]
    rules = sorted(str(span.attributes.get("lane.rule")) for span in server)  # type: ignore[union-attr]
    assert rules == ["None", "callback", "qa-team", "qa-team"]
    coloured = [s for s in server if s.attributes.get("lane.rule") == "qa-team"]  # type: ignore[union-attr]
    assert coloured[0].attributes["lane.id"] == "pr-42"  # type: ignore[index]
    data = reader.get_metrics_data()
    points = {
        point.attributes["rule"]: point.value  # type: ignore[index]
        for resource in data.resource_metrics  # type: ignore[union-attr]
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "lanectx.colouring.requests"
        for point in metric.data.data_points  # type: ignore[union-attr]
    }
    assert points == {"qa-team": 2, "callback": 1}
    provider.shutdown()
    meters.shutdown()


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({"lane": lanectx.current_lane(), "rule": environ.get("lane_rule")})
    start_response("200 OK", [("content-type", "application/json")])
    return [body.encode()]


def test_wsgi_edge_colours_like_asgi() -> None:
    """The WSGI middleware gives the same lanes and rules as the ASGI one."""
    app = WSGIColouringMiddleware(_wsgi_app, _rules(), edge=True)
    with run_wsgi(app) as url, httpx.Client() as client:
        answers = [client.get(url, headers=headers).json() for headers, _, _ in CASES]
    assert [(a["lane"], a["rule"]) for a in answers] == [(lane, rule) for _, lane, rule in CASES]


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
@pytest.mark.parametrize(
    ("headers", "lane"),
    [
        ({"agent": "pc"}, "pr-42"),
        ({"agent": "pc", "x-lane-id": "pr-7"}, "pr-42"),
        ({"x-lane-id": "pr-7"}, None),
    ],
)
def test_untrusted_caller_cannot_choose_but_rules_still_colour(
    capture: CaptureServer, server: str, headers: dict[str, str], lane: str | None
) -> None:
    """From an untrusted caller an explicit lane is ignored; the edge's own rules still apply."""
    config = lanectx.LaneConfig(trusted_callers=("192.0.2.0/24",))
    lanectx.instrument(config)
    if server == "asgi":
        app: Any = ColouringMiddleware(_asgi_app(capture.url), _rules(), config=config, edge=True)
        runner = run_uvicorn(app)
    else:
        app = WSGIColouringMiddleware(_wsgi_app, _rules(), config=config, edge=True)
        runner = run_wsgi(app)
    with runner as url:
        assert httpx.get(url, headers=headers, timeout=10).json()["lane"] == lane
