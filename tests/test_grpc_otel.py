"""gRPC lanes beside opentelemetry-instrumentation-grpc, instrumented in either order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest
from opentelemetry import baggage, context
from opentelemetry.instrumentation.grpc import (
    GrpcAioInstrumentorClient,
    GrpcAioInstrumentorServer,
    GrpcInstrumentorClient,
    GrpcInstrumentorServer,
    aio_server_interceptor,
    server_interceptor,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import lanectx
from lanectx import LaneConfig
from lanectx.grpc import AsyncLaneServerInterceptor, LaneServerInterceptor
from lanectx.telemetry import LaneSpanProcessor

from .protos.probe import (
    SHAPES,
    AsyncProbe,
    SyncProbe,
    acall,
    aio_server,
    call,
    protos,
    services,
    sync_server,
    values,
)
from .servers import CaptureServer
from .test_grpc import downstream, lane_members


@pytest.fixture(scope="module")
def capture_url() -> Iterator[str]:
    """One capture server for the module."""
    with CaptureServer() as server:
        yield f"{server.url}/capture"


def tracing(with_lane_processor: bool) -> tuple[TracerProvider, InMemorySpanExporter]:
    """An SDK tracer provider that keeps its spans in memory."""
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    if with_lane_processor:
        provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


def server_spans(exporter: InMemorySpanExporter, count: int = 1) -> list[ReadableSpan]:
    """The finished server spans, once *count* have ended (they end after the reply)."""
    deadline = time.monotonic() + 5
    while True:
        found = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, "no server span ended"
        time.sleep(0.01)


CALLER_METADATA = (("x-pr-id", "7"),)


def run_rpc(kind: str, target: str, shape: str, ask: Any) -> list[Any]:
    """One RPC through a patched channel: lane pr-7 and ``a=1`` current, ``x-pr-id: 7`` set."""
    ctx = baggage.set_baggage("a", "1")
    token = context.attach(ctx)
    try:
        with lanectx.use_lane("pr-7"):
            if kind == "sync":
                with grpc.insecure_channel(target) as channel:
                    return call(services.ProbeStub(channel), shape, ask, CALLER_METADATA)

            async def run() -> list[Any]:
                async with grpc.aio.insecure_channel(target) as channel:
                    return await acall(services.ProbeStub(channel), shape, ask, CALLER_METADATA)

            return asyncio.run(run())
    finally:
        context.detach(token)


def start_server(stack: ExitStack, kind: str) -> str:
    """A Probe server made by the (patched) factory, with plain httpx downstream clients."""
    if kind == "sync":
        servicer = SyncProbe(stack.enter_context(httpx.Client()))
        return stack.enter_context(sync_server(servicer))
    return stack.enter_context(aio_server(lambda: AsyncProbe(httpx.AsyncClient())))


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "disallowed"])
@pytest.mark.parametrize("order", ["otel-first", "lanectx-first"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_beside_otel_grpc_instrumentation(
    kind: str, shape: str, order: str, allowed: bool, capture_url: str
) -> None:
    """With OTel's gRPC instrumentation, in either order: one lane entry each, span stamped."""
    provider, spans = tracing(with_lane_processor=True)
    config = LaneConfig() if allowed else LaneConfig(allowed_hosts=("reviews",))
    instrumentors: list[Any] = (
        [GrpcInstrumentorServer(), GrpcInstrumentorClient()]
        if kind == "sync"
        else [GrpcAioInstrumentorServer(), GrpcAioInstrumentorClient()]
    )
    with ExitStack() as stack:

        def otel_on() -> None:
            for instrumentor in instrumentors:
                instrumentor.instrument(tracer_provider=provider)
                stack.callback(instrumentor.uninstrument)

        def lanectx_on() -> None:
            assert lanectx.instrument(config)
            stack.callback(lanectx.uninstrument)

        steps: list[Callable[[], None]] = [otel_on, lanectx_on]
        for step in steps if order == "otel-first" else reversed(steps):
            step()
        target = start_server(stack, kind)
        ask = protos.Ask(downstream=capture_url, replies=2)
        replies = run_rpc(kind, target, shape, ask)
        (span, *_) = server_spans(spans)
    lane = "pr-7" if allowed else None
    for seen in replies:
        assert (seen.lane or None) == lane
        assert values(seen.metadata, "x-lane-id") == ([lane] if lane else [])
        assert values(seen.metadata, "x-pr-id") == (["7"] if allowed else [])
        (sent_baggage,) = values(seen.metadata, "baggage")
        assert "a=1" in sent_baggage.split(",")
        assert lane_members(seen.metadata) == ([lane] if lane else [])
        assert downstream(seen).get("x-lane-id") == lane
    assert (span.attributes or {}).get("lane.id") == lane


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_server_span_gets_lane_from_interceptor_alone(kind: str) -> None:
    """Inside OTel's server interceptor, ours stamps the span even with no lane span processor."""
    provider, spans = tracing(with_lane_processor=False)
    with ExitStack() as stack:
        if kind == "sync":
            interceptors: list[Any] = [server_interceptor(provider), LaneServerInterceptor()]
            servicer = SyncProbe(stack.enter_context(httpx.Client()))
            target = stack.enter_context(sync_server(servicer, interceptors))
        else:
            interceptors = [aio_server_interceptor(provider), AsyncLaneServerInterceptor()]
            target = stack.enter_context(
                aio_server(lambda: AsyncProbe(httpx.AsyncClient()), interceptors)
            )
        with grpc.insecure_channel(target) as channel:
            seen = services.ProbeStub(channel).Unary(
                protos.Ask(), metadata=[("x-pr-id", "5"), ("baggage", "b=2")], timeout=10
            )
        (span,) = server_spans(spans)
    assert seen.lane == "pr-5"
    assert (span.attributes or {}).get("lane.id") == "pr-5"
