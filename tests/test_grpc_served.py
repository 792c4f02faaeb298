"""gRPC servers say which version served: x-lane-served, once, in the trailing metadata."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest
from opentelemetry.instrumentation.grpc import (
    GrpcAioInstrumentorServer,
    GrpcInstrumentorServer,
    aio_server_interceptor,
    server_interceptor,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lanectx
from lanectx import LaneConfig, _hop
from lanectx._grpc_served import ServedContext
from lanectx.grpc import AsyncLaneServerInterceptor, LaneServerInterceptor

from .protos.probe import SHAPES, aio_server, protos, services, sync_server

SERVED = "x-lane-served"
OWN_INITIAL = ("own-initial", "1")
OWN_TRAILING = ("own-trailing", "1")
DENIED = grpc.StatusCode.PERMISSION_DENIED


class Status(collections.namedtuple("Status", "code details trailing_metadata"), grpc.Status):  # type: ignore[misc]
    """A `grpc.Status` to abort with."""


DENIED_STATUS = Status(DENIED, "no", (OWN_TRAILING,))


class Servicer(services.ProbeServicer):  # type: ignore[misc,name-defined]
    """Handlers for `grpc.server` (and plain ones for `grpc.aio`) acting as the ask's tag says."""

    def __init__(self) -> None:
        self.http = httpx.Client()  # closed by the test servers
        self.contexts: list[Any] = []

    def _act(self, ask: Any, context: Any) -> None:
        self.contexts.append(context)
        tag = ask.tag
        if tag == "initial":
            context.send_initial_metadata([OWN_INITIAL])
        if tag == "own":
            context.set_trailing_metadata([(SERVED, "own")])
        if tag in ("trailing", "abort", "error"):
            context.set_trailing_metadata([OWN_TRAILING])
        if tag == "abort":
            context.abort(DENIED, "no")
        if tag == "abort-status":
            context.abort_with_status(DENIED_STATUS)
        if tag == "error":
            raise RuntimeError("boom")
        if tag == "code":
            context.set_code(grpc.StatusCode.NOT_FOUND)

    def _replies(self, ask: Any, context: Any) -> Iterator[Any]:
        if ask.tag == "late-abort":
            yield protos.Seen(tag=ask.tag)
            context.abort(DENIED, "no")
        self._act(ask, context)
        if ask.tag != "code":
            yield from (protos.Seen(tag=ask.tag), protos.Seen(tag=ask.tag))

    def Unary(self, ask: Any, context: Any) -> Any:
        """Act, then reply once."""
        self._act(ask, context)
        return protos.Seen(tag=ask.tag)

    def ServerStream(self, ask: Any, context: Any) -> Iterator[Any]:
        """Act, then reply twice."""
        yield from self._replies(ask, context)

    def ClientStream(self, asks: Iterator[Any], context: Any) -> Any:
        """Act on the first request, then reply once."""
        return self.Unary(next(asks), context)

    def BidiStream(self, asks: Iterator[Any], context: Any) -> Iterator[Any]:
        """Act on the first request, then reply twice."""
        yield from self._replies(next(asks), context)


class AsyncServicer(Servicer):
    """Coroutine and async-generator handlers for `grpc.aio.server`."""

    async def _aact(self, ask: Any, context: Any) -> None:
        self.contexts.append(context)
        tag = ask.tag
        if tag == "initial":
            await context.send_initial_metadata([OWN_INITIAL])
        if tag == "own":
            context.set_trailing_metadata([(SERVED, "own")])
        if tag in ("trailing", "abort", "error"):
            context.set_trailing_metadata([OWN_TRAILING])
        if tag == "abort":
            await context.abort(DENIED, "no")
        if tag == "abort-trailing":
            await context.abort(DENIED, "no", grpc.aio.Metadata(OWN_TRAILING))
        if tag == "abort-status":
            await context.abort_with_status(DENIED_STATUS)
        if tag == "error":
            raise RuntimeError("boom")
        if tag == "code":
            context.set_code(grpc.StatusCode.NOT_FOUND)

    async def _areplies(self, ask: Any, context: Any) -> AsyncIterator[Any]:
        if ask.tag == "late-abort":
            yield protos.Seen(tag=ask.tag)
            await context.abort(DENIED, "no")
        await self._aact(ask, context)
        if ask.tag != "code":
            for _ in range(2):
                yield protos.Seen(tag=ask.tag)

    async def Unary(self, ask: Any, context: Any) -> Any:  # type: ignore[override]
        """Act, then reply once."""
        await self._aact(ask, context)
        return protos.Seen(tag=ask.tag)

    async def ServerStream(self, ask: Any, context: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        """Act, then reply twice."""
        async for reply in self._areplies(ask, context):
            yield reply

    async def ClientStream(self, asks: AsyncIterator[Any], context: Any) -> Any:  # type: ignore[override]
        """Act on the first request, then reply once."""
        return await self.Unary(await anext(aiter(asks)), context)

    async def BidiStream(self, asks: AsyncIterator[Any], context: Any) -> None:  # type: ignore[override]
        """Act on the first request, then write two replies with ``context.write``."""
        async for reply in self._areplies(await anext(aiter(asks)), context):
            await context.write(reply)


@dataclass
class Answer:
    """What the client saw of one RPC."""

    code: grpc.StatusCode
    initial: list[tuple[str, Any]]
    trailing: list[tuple[str, Any]]

    def served(self) -> tuple[list[str], list[str]]:
        """The served header's values in the initial and in the trailing metadata."""
        return (
            [v for k, v in self.initial if k == SERVED],
            [v for k, v in self.trailing if k == SERVED],
        )


def rpc(target: str, shape: str, tag: str) -> Answer:
    """Make one RPC of *shape* with a sync client; return its status and metadata."""
    ask = protos.Ask(tag=tag)
    with grpc.insecure_channel(target) as channel:
        stub = services.ProbeStub(channel)
        method = {
            "unary_unary": stub.Unary,
            "unary_stream": stub.ServerStream,
            "stream_unary": stub.ClientStream,
            "stream_stream": stub.BidiStream,
        }[shape]
        request = ask if shape.startswith("unary") else iter([ask])
        try:
            if shape.endswith("_stream"):
                call = method(request, timeout=10)
                assert len(list(call)) == 2
            else:
                call = method.with_call(request, timeout=10)[1]
        except grpc.RpcError as error:
            call = error
        return Answer(call.code(), list(call.initial_metadata()), list(call.trailing_metadata()))


Server = Callable[[ExitStack, list[Any]], tuple[str, Servicer]]


def sync_served(stack: ExitStack, interceptors: list[Any]) -> tuple[str, Servicer]:
    """A `grpc.server` with plain handlers."""
    servicer = Servicer()
    return stack.enter_context(sync_server(servicer, interceptors)), servicer


def aio_served(stack: ExitStack, interceptors: list[Any]) -> tuple[str, Servicer]:
    """A `grpc.aio.server` with coroutine / async-generator handlers."""
    servicer = AsyncServicer()
    return stack.enter_context(aio_server(lambda: servicer, interceptors)), servicer


SERVERS: dict[str, tuple[Server, Callable[[LaneConfig | None], Any]]] = {
    "sync": (sync_served, LaneServerInterceptor),
    "aio": (aio_served, AsyncLaneServerInterceptor),
}
ON = LaneConfig(served_header=SERVED)


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, target) of a server whose lane interceptor answers with x-lane-served."""
    serve, interceptor = SERVERS[request.param]
    with ExitStack() as stack:
        yield request.param, serve(stack, [interceptor(ON)])[0]


# tag → (status, served in initial, served in trailing, own entries expected)
CASES = {
    "plain": (grpc.StatusCode.OK, [], ["stable"], []),
    "initial": (grpc.StatusCode.OK, [], ["stable"], [OWN_INITIAL]),
    "own": (grpc.StatusCode.OK, [], ["own"], []),
    "trailing": (grpc.StatusCode.OK, [], ["stable"], [OWN_TRAILING]),
    "abort": (DENIED, [], ["stable"], [OWN_TRAILING]),
    "abort-status": (DENIED, [], ["stable"], [OWN_TRAILING]),
    "error": (grpc.StatusCode.UNKNOWN, [], ["stable"], [OWN_TRAILING]),
    "code": (grpc.StatusCode.NOT_FOUND, [], ["stable"], []),
}


@pytest.mark.parametrize("tag", sorted(CASES))
@pytest.mark.parametrize("shape", SHAPES)
def test_served_entry_once_and_handler_metadata_kept(
    served: tuple[str, str], shape: str, tag: str
) -> None:
    """Every shape says who served exactly once; the handler's own metadata and status stay."""
    status, initial, trailing, own = CASES[tag]
    answer = rpc(served[1], shape, tag)
    assert answer.code == status
    assert answer.served() == (initial, trailing)
    for entry in own:
        assert entry in answer.initial + answer.trailing


@pytest.mark.parametrize("shape", ["unary_stream", "stream_stream"])
def test_abort_after_a_message(served: tuple[str, str], shape: str) -> None:
    """A stream that aborts after its first message still ends with the entry."""
    answer = rpc(served[1], shape, "late-abort")
    assert (answer.code, answer.served()) == (DENIED, ([], ["stable"]))


@pytest.mark.parametrize("shape", SHAPES)
def test_aio_abort_with_trailing_metadata(shape: str) -> None:
    """A grpc.aio abort given trailing metadata keeps it and adds the entry."""
    with ExitStack() as stack:
        target, _ = aio_served(stack, [AsyncLaneServerInterceptor(ON)])
        answer = rpc(target, shape, "abort-trailing")
    assert (answer.code, answer.served()) == (DENIED, ([], ["stable"]))
    assert OWN_TRAILING in answer.trailing


@pytest.mark.parametrize("tag", sorted(set(CASES) - {"abort-status"}))  # not on its contexts
@pytest.mark.parametrize("shape", SHAPES)
def test_aio_plain_handlers(shape: str, tag: str) -> None:
    """Plain handlers on a grpc.aio server (run on its thread pool) answer as on a sync server."""
    status, initial, trailing, own = CASES[tag]
    with ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(2))
        target = stack.enter_context(
            aio_server(Servicer, [AsyncLaneServerInterceptor(ON)], pool=pool)
        )
        answer = rpc(target, shape, tag)
    assert (answer.code, answer.served()) == (status, (initial, trailing))
    for entry in own:
        assert entry in answer.initial + answer.trailing


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_own_lane_and_lane_requests(
    kind: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A lane's process says its lane, for calls of its lane, of another and of none."""
    monkeypatch.setenv("LANE_ID", "pr-7")
    _hop.own_lane.cache_clear()
    request.addfinalizer(_hop.own_lane.cache_clear)
    serve, interceptor = SERVERS[kind]
    with ExitStack() as stack:
        target, servicer = serve(stack, [interceptor(ON)])
        for metadata in ([("x-lane-id", "pr-7")], [("x-pr-id", "9")], [("x-lane-id", "BAD")]):
            with grpc.insecure_channel(target) as channel:
                stub = services.ProbeStub(channel)
                _, call = stub.Unary.with_call(protos.Ask(), metadata=metadata, timeout=10)
            assert [v for k, v in call.trailing_metadata() if k == SERVED] == ["pr-7"]
    assert all(isinstance(context, ServedContext) for context in servicer.contexts)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_off_by_default_nothing_wrapped(kind: str, shape: str) -> None:
    """Without served_header no entry is sent and handlers get gRPC's own context."""
    serve, interceptor = SERVERS[kind]
    with ExitStack() as stack:
        target, servicer = serve(stack, [interceptor(None)])
        for tag in ("plain", "abort"):
            assert rpc(target, shape, tag).served() == ([], [])
    assert servicer.contexts
    assert not any(isinstance(context, ServedContext) for context in servicer.contexts)


@pytest.mark.parametrize("tag", ["plain", "initial", "abort", "abort-status"])
@pytest.mark.parametrize("shape", ["unary_unary", "unary_stream"])
@pytest.mark.parametrize("order", ["otel-outside", "lanectx-outside"])
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_beside_otel_server_interceptor(kind: str, order: str, shape: str, tag: str) -> None:
    """With OTel's server interceptor on either side: one entry, and OTel's span has the status."""
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    serve, interceptor = SERVERS[kind]
    otel = (server_interceptor if kind == "sync" else aio_server_interceptor)(provider)
    ours = interceptor(ON)
    with ExitStack() as stack:
        target, _ = serve(stack, [otel, ours] if order == "otel-outside" else [ours, otel])
        answer = rpc(target, shape, tag)
    status, initial, trailing, _ = CASES[tag]
    assert (answer.code, answer.served()) == (status, (initial, trailing))
    (span,) = spans.get_finished_spans()
    if tag != "abort-status":  # OTel's contexts do not see abort_with_status, with or without us
        assert (span.attributes or {}).get("rpc.grpc.status_code") == status.value[0]


@pytest.mark.parametrize("order", ["otel-first", "lanectx-first"])
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_beside_otel_instrumentor(kind: str, order: str) -> None:
    """OTel's instrumentor and instrument(), in either order: one entry on replies and aborts."""
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    otel = GrpcInstrumentorServer() if kind == "sync" else GrpcAioInstrumentorServer()
    with ExitStack() as stack:

        def otel_on() -> None:
            otel.instrument(tracer_provider=provider)
            stack.callback(otel.uninstrument)

        def lanectx_on() -> None:
            assert lanectx.instrument(ON)
            stack.callback(lanectx.uninstrument)

        for step in (otel_on, lanectx_on) if order == "otel-first" else (lanectx_on, otel_on):
            step()
        target, _ = SERVERS[kind][0](stack, [])
        answers = [rpc(target, "unary_unary", tag) for tag in ("plain", "abort")]
    assert [a.served() for a in answers] == [([], ["stable"])] * 2
    assert [a.code for a in answers] == [grpc.StatusCode.OK, DENIED]
    assert len(spans.get_finished_spans()) == 2


def test_instrument_turns_it_on_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANECTX_SERVED_HEADER with instrument(): a grpc.server made after it answers with it."""
    monkeypatch.setenv("LANECTX_SERVED_HEADER", "X-Served-By")
    assert lanectx.instrument()
    with ExitStack() as stack:
        target, _ = sync_served(stack, [])
        answer = rpc(target, "unary_unary", "plain")
    assert [v for k, v in answer.trailing if k == "x-served-by"] == ["stable"]
