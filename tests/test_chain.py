"""A lane entering service A reaches B and the capture server, in every inbound form."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as OtelASGI
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as OtelWSGI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import lanectx
from lanectx import asgi, wsgi
from lanectx.telemetry import LaneSpanProcessor

from .chain import lane_members, service_a, service_b
from .servers import CaptureServer, run_uvicorn, run_wsgi

# (request headers, expected lane, other baggage members expected downstream with OTel)
INBOUND = [
    pytest.param({"x-lane-id": "pr-5"}, "pr-5", None, id="x-lane-id"),
    pytest.param({"x-pr-id": "5"}, "pr-5", None, id="x-pr-id-number"),
    pytest.param({"x-pr-id": "pr-5"}, "pr-5", None, id="x-pr-id-lane"),
    pytest.param({"baggage": "lane=pr-5"}, "pr-5", None, id="baggage"),
    pytest.param({"baggage": "a=1, lane = pr-5 ;p=1,b=2"}, "pr-5", "a=1", id="baggage-ows"),
    pytest.param({"baggage": "a=1;lane=pr-5"}, None, None, id="lane-in-property"),
    pytest.param({}, None, None, id="none"),
    pytest.param({"x-lane-id": "PR_5!"}, None, None, id="invalid-header"),
    pytest.param({"baggage": "lane=Not_A_Lane,a=1"}, None, "a=1", id="invalid-baggage"),
    pytest.param({"x-lane-id": "x" * 5000}, None, None, id="huge-header"),
    pytest.param(
        {"x-lane-id": "pr-1", "x-pr-id": "2", "baggage": "lane=pr-3"}, "pr-1", None, id="conflict"
    ),
    pytest.param({"x-lane-id": "BAD", "x-pr-id": "2"}, "pr-2", None, id="invalid-then-pr-id"),
]


class Chain:
    """A running chain and, with OTel, the spans it produced."""

    def __init__(self, url: str, capture: CaptureServer, spans: InMemorySpanExporter | None):
        self.url = url
        self.capture = capture
        self.spans = spans

    def get(self, headers: dict[str, str]) -> dict[str, Any]:
        """GET /a with a client no instrumentation touches."""
        request = urllib.request.Request(f"{self.url}/a", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.load(response)
        return result


def _start(stack: ExitStack, otel: str | None) -> Chain:
    """Start capture, B and A; *otel* is None, 'lane-outside' or 'lane-inside'."""
    capture = stack.enter_context(CaptureServer())
    client = httpx.AsyncClient(timeout=10)  # created before instrument(): must still carry lanes
    lanectx.instrument()
    spans = None
    b_app: Any = wsgi.LaneMiddleware(service_b(capture.url))
    a_app: Any = service_a("", client)
    if otel is None:
        b_url = stack.enter_context(run_wsgi(b_app))
        a_app = asgi.LaneMiddleware(service_a(b_url, client))
    else:
        provider = TracerProvider()
        spans = InMemorySpanExporter()
        provider.add_span_processor(LaneSpanProcessor())
        provider.add_span_processor(SimpleSpanProcessor(spans))
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        RequestsInstrumentor().instrument(tracer_provider=provider)
        stack.callback(HTTPXClientInstrumentor().uninstrument)
        stack.callback(RequestsInstrumentor().uninstrument)
        b_inner = service_b(capture.url)
        if otel == "lane-outside":
            b_app = wsgi.LaneMiddleware(OtelWSGI(b_inner, tracer_provider=provider))
        else:
            b_app = OtelWSGI(wsgi.LaneMiddleware(b_inner), tracer_provider=provider)
        b_url = stack.enter_context(run_wsgi(b_app))
        a_inner = service_a(b_url, client)
        if otel == "lane-outside":
            a_app = asgi.LaneMiddleware(OtelASGI(a_inner, tracer_provider=provider))
        else:
            a_app = OtelASGI(asgi.LaneMiddleware(a_inner), tracer_provider=provider)
    url = stack.enter_context(run_uvicorn(a_app))
    return Chain(url, capture, spans)


def _wait_for_spans(exporter: InMemorySpanExporter, servers: int) -> list[ReadableSpan]:
    """The finished spans, once *servers* server spans have ended (they end after the reply)."""
    deadline = time.monotonic() + 5
    while True:
        finished = list(exporter.get_finished_spans())
        if sum(s.kind is SpanKind.SERVER for s in finished) >= servers:
            return finished
        assert time.monotonic() < deadline, f"only {len(finished)} spans ended"
        time.sleep(0.01)


@pytest.fixture(scope="module", params=[None, "lane-outside", "lane-inside"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """The chain, plain or with OTel's middleware on either side of lanectx's."""
    with ExitStack() as stack:
        yield _start(stack, request.param)
        lanectx.uninstrument()


@pytest.mark.parametrize(("headers", "lane", "other"), INBOUND)
def test_lane_reaches_every_hop(
    chain: Chain, headers: dict[str, str], lane: str | None, other: str | None
) -> None:
    """The lane is current in A and B and arrives at the capture server exactly once."""
    lanectx.instrument()  # the module fixture instrumented; the autouse fixture may have undone it
    if chain.spans is not None:
        chain.spans.clear()
    result = chain.get(headers)
    seen = result["b"]["capture"]["headers"]
    assert result["lane"] == lane
    assert result["b"]["lane"] == lane
    assert seen.get("x-lane-id") == lane
    assert lane_members(seen) == ([lane] if lane else [])
    assert "x-pr-id" not in seen
    if chain.spans is not None:
        if other is not None:
            assert other in seen["baggage"].replace(" ", "").split(",")
        finished = _wait_for_spans(chain.spans, servers=2)
        for span in finished:
            assert (span.attributes or {}).get("lane.id") == lane, span.name


def test_concurrent_distinct_lanes_never_mix(chain: Chain) -> None:
    """200 concurrent requests, each with its own lane, each see only their own lane."""
    lanectx.instrument()

    async def one(client: httpx.AsyncClient, n: int) -> tuple[str, Any]:
        lane = f"pr-{n}"
        response = await client.get(f"{chain.url}/a", headers={"x-lane-id": lane})
        return lane, response.json()

    async def main() -> list[tuple[str, Any]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return await asyncio.gather(*(one(client, n) for n in range(200)))

    results = asyncio.run(main())
    leaks = [
        (lane, r)
        for lane, r in results
        if (r["lane"], r["b"]["lane"], r["b"]["capture"]["headers"].get("x-lane-id"))
        != (lane, lane, lane)
    ]
    assert len(results) == 200
    assert leaks == []
