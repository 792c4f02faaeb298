"""The contract under every stack: real FastAPI, Flask and Django edges behind lanectx's
middleware, OTel's, or both in either order, calling out with and without OTel's clients."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import unquote_plus

import grpc
import httpx
import pytest
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcInstrumentorClient
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import lanectx
from lanectx import LaneConfig
from lanectx.telemetry import LaneSpanProcessor

from .protos.probe import (
    AsyncProbe,
    SyncProbe,
    aio_server,
    call,
    protos,
    services,
    sync_server,
    values,
)
from .servers import CaptureServer, run_uvicorn, run_wsgi
from .stack_apps import FRAMEWORKS, STACKS, stacked

CLIENT_INSTRUMENTORS = (
    HTTPXClientInstrumentor,
    RequestsInstrumentor,
    GrpcInstrumentorClient,
    GrpcAioInstrumentorClient,
)


@pytest.fixture(scope="module")
def probe() -> Iterator[str]:
    """A gRPC server that answers each RPC with the metadata it received."""
    with httpx.Client() as client, sync_server(SyncProbe(client)) as target:
        yield target


@contextmanager
def otel_clients(on: bool) -> Iterator[None]:
    """OpenTelemetry's httpx, requests and gRPC client instrumentations, when *on*."""
    instrumentors = [kind() for kind in CLIENT_INSTRUMENTORS] if on else []
    for instrumentor in instrumentors:
        instrumentor.instrument()
    try:
        yield
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()


def members(seen: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Every baggage member a downstream call carried, decoded as OTel decodes them."""
    found = []
    for header in seen["baggage"]:
        for member in header.split(","):
            name, _, value = member.partition("=")
            found.append((unquote_plus(name).strip(), unquote_plus(value).strip()))
    return sorted(found)


def edge_reports(
    framework: str,
    stack: str,
    config: LaneConfig,
    provider: TracerProvider,
    capture: CaptureServer,
    probe: str,
    requests_headers: list[dict[str, str]],
    with_otel_clients: bool = False,
) -> list[dict[str, Any]]:
    """Serve the *framework* edge as *stack*; return its report for each request."""
    make, is_asgi = FRAMEWORKS[framework]
    app = stacked(make(capture.url, probe), is_asgi, stack, config, provider)
    serve = run_uvicorn if is_asgi else run_wsgi
    with otel_clients(with_otel_clients), serve(app) as url, httpx.Client(timeout=30) as client:
        return [client.get(f"{url}/edge", headers=headers).json() for headers in requests_headers]


def downstream_calls(report: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The lane headers of each downstream call in an edge's report."""
    return {k: v for k, v in report.items() if k != "lane"}


@pytest.mark.parametrize("clients", ["lanectx-clients", "otel-clients"])
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_other_baggage_members_pass_through(
    capture: CaptureServer, probe: str, framework: str, stack: str, clients: str
) -> None:
    """Every other baggage member arrives downstream unchanged, beside exactly one lane."""
    config = LaneConfig()
    lanectx.instrument(config)
    sent = [{"baggage": "foo=1,lane=pr-7,bar=2;p=3"}, {"x-lane-id": "pr-8", "baggage": "foo=2"}]
    first, second = edge_reports(
        framework, stack, config, TracerProvider(), capture, probe, sent, clients == "otel-clients"
    )
    assert (first["lane"], second["lane"]) == ("pr-7", "pr-8")
    for name, seen in downstream_calls(first).items():
        assert seen["x-lane-id"] == ["pr-7"], name
        assert members(seen) == [("bar", "2;p=3"), ("foo", "1"), ("lane", "pr-7")], name
    for name, seen in downstream_calls(second).items():
        assert members(seen) == [("foo", "2"), ("lane", "pr-8")], name


def test_members_without_a_lane_pass_through(capture: CaptureServer, probe: str) -> None:
    """With no lane, the other members still leave, and no lane member appears."""
    lanectx.instrument()
    (report,) = edge_reports(
        "flask", "lanectx", LaneConfig(), TracerProvider(), capture, probe, [{"baggage": "a=1"}]
    )
    assert report["lane"] is None
    for name, seen in downstream_calls(report).items():
        assert (seen["x-lane-id"], members(seen)) == ([], [("a", "1")]), name


LANE_FORMS = [
    {"x-lane-id": "pr-7", "baggage": "foo=1"},
    {"x-pr-id": "7", "baggage": "foo=1"},
    {"baggage": "foo=1,lane=pr-7"},
    {"baggage": "foo=1,%6Cane=pr-7"},
    {"baggage": "foo=1, +lane = pr-7"},
]


def _server_spans(exporter: InMemorySpanExporter, count: int) -> list[Any]:
    deadline = time.monotonic() + 10
    while True:
        spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_trust_boundary_holds_in_every_order(
    capture: CaptureServer, probe: str, framework: str, stack: str, trusted: bool
) -> None:
    """An untrusted caller's lane, in any form, is neither current, sent on, nor on the span."""
    config = LaneConfig(trusted_callers=("<loopback>",) if trusted else ("192.0.2.0/24",))
    lanectx.instrument(config)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reports = edge_reports(framework, stack, config, provider, capture, probe, LANE_FORMS)
    lane = "pr-7" if trusted else None
    for form, report in zip(LANE_FORMS, reports, strict=True):
        assert report["lane"] == lane, form
        for name, seen in downstream_calls(report).items():
            assert seen["x-lane-id"] == ([lane] if lane else []), (form, name)
            expected = [("foo", "1"), ("lane", lane)] if lane else [("foo", "1")]
            assert members(seen) == expected, (form, name)
    if stack != "lanectx":
        spans = _server_spans(exporter, len(LANE_FORMS))
        assert [s.attributes.get("lane.id") for s in spans] == [lane] * len(LANE_FORMS)


@pytest.mark.parametrize("server", ["sync", "aio"])
def test_grpc_servers_pass_other_members_through(capture: CaptureServer, server: str) -> None:
    """A gRPC handler's outgoing call carries the RPC's other baggage members."""
    lanectx.instrument()
    ask = protos.Ask(downstream=f"{capture.url}/down")
    metadata = [("baggage", "foo=1,lane=pr-7"), ("baggage", "bar=2")]
    with ExitStack() as stack:
        if server == "sync":
            target = stack.enter_context(
                sync_server(SyncProbe(stack.enter_context(httpx.Client())))
            )
        else:
            target = stack.enter_context(aio_server(lambda: AsyncProbe(httpx.AsyncClient())))
        with grpc.insecure_channel(target) as channel:
            (reply,) = call(services.ProbeStub(channel), "unary_unary", ask, metadata)
    assert reply.lane == "pr-7"
    seen = {"baggage": values(reply.downstream, "baggage")}
    assert members(seen) == [("bar", "2"), ("foo", "1"), ("lane", "pr-7")]


@pytest.mark.parametrize("clients", ["lanectx-clients", "otel-clients"])
@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_routed_calls_keep_the_other_members(
    tmp_path: Any, capture: CaptureServer, probe: str, framework: str, clients: str
) -> None:
    """In client routing mode, a call sent to its lane's version still carries every member."""
    lanes = tmp_path / "lanes.json"
    endpoints = {"localhost": {"pr-7": f"127.0.0.1:{capture.port}"}}
    lanes.write_text(json.dumps({"services": {"localhost": ["pr-7"]}, "endpoints": endpoints}))
    config = LaneConfig(routing="client", lane_map=str(lanes))
    lanectx.instrument(config)
    make, is_asgi = FRAMEWORKS[framework]
    # Addressed to a port where nothing listens: only the lane route reaches the capture.
    app = stacked(make("http://localhost:1", probe), is_asgi, "lanectx", config, TracerProvider())
    serve = run_uvicorn if is_asgi else run_wsgi
    with (
        otel_clients(clients == "otel-clients"),
        serve(app) as url,
        httpx.Client(timeout=30) as client,
    ):
        report = client.get(f"{url}/edge", headers={"baggage": "foo=1,lane=pr-7"}).json()
    assert report["lane"] == "pr-7"
    for name, seen in downstream_calls(report).items():
        assert members(seen) == [("foo", "1"), ("lane", "pr-7")], name
