"""A report of real traces: three services over HTTP, one without lanectx that loses the lane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import lanectx
from lanectx.report import OtlpReceiver, build_report, markdown, read_files
from lanectx.telemetry import LaneSpanProcessor

from ..servers import run_uvicorn


def _provider(service: str, receiver: OtlpReceiver, with_lanectx: bool) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if with_lanectx:
        provider.add_span_processor(LaneSpanProcessor())
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _caller(targets: list[str]) -> Any:
    """An ASGI app that calls each URL in *targets* with httpx (lanectx-patched) and answers."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        async with httpx.AsyncClient() as client:
            for url in targets:
                (await client.get(url)).raise_for_status()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[OtlpReceiver]:
    """The built-in receiver writing tmp_path/traces.jsonl."""
    with OtlpReceiver(tmp_path / "traces.jsonl") as running:
        yield running


def _serve(app: Any, service: str, receiver: OtlpReceiver, with_lanectx: bool) -> Any:
    provider = _provider(service, receiver, with_lanectx)
    return provider, run_uvicorn(OpenTelemetryMiddleware(app, tracer_provider=provider))


def test_service_without_lanectx_is_where_the_lane_was_lost(receiver: OtlpReceiver) -> None:
    """frontend -> legacy (no lanectx span processor) -> backend: lost at legacy only."""
    lanectx.instrument()  # the propagator: every service reads and sends the lane headers
    HTTPXClientInstrumentor().instrument()  # traceparent on every call
    providers: list[TracerProvider] = []
    try:
        backend_provider, backend_server = _serve(_caller([]), "backend", receiver, True)
        providers.append(backend_provider)
        with backend_server as backend:
            legacy_provider, legacy_server = _serve(_caller([backend]), "legacy", receiver, False)
            providers.append(legacy_provider)
            with legacy_server as legacy:
                front_provider, front_server = _serve(_caller([legacy]), "frontend", receiver, True)
                providers.append(front_provider)
                with front_server as frontend:
                    for _ in range(3):
                        answer = httpx.get(frontend, headers={"x-lane-id": "pr-9"})
                        assert answer.status_code == 200
    finally:
        HTTPXClientInstrumentor().uninstrument()
        for provider in providers:
            provider.shutdown()
    spans, skipped = read_files([receiver.output])
    report = build_report(spans, "pr-9", skipped=skipped)
    assert len(report.traces) == 3
    assert report.dropped_by == {"legacy": 3}
    outcomes = {s.service: dict(s.outcomes) for s in report.services}
    assert outcomes == {"frontend": {"fallback": 3}, "legacy": {"lost": 3},
                        "backend": {"fallback": 3}}  # fmt: skip
    assert {(e.source, e.target): (e.calls, e.lost) for e in report.edges} == {
        ("frontend", "legacy"): (3, 3),
        ("legacy", "backend"): (3, 0),
    }
    assert "Lane lost at: **legacy** (3 hops)." in markdown(report)
