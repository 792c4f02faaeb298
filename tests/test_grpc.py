"""gRPC lanes end to end: client → server handler → downstream HTTP → capture, every shape."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest

import lanectx
import lanectx.grpc
from lanectx import asgi
from lanectx._baggage import member_values
from lanectx.grpc import (
    AsyncLaneServerInterceptor,
    LaneClientInterceptor,
    LaneServerInterceptor,
    async_client_interceptors,
)
from lanectx.httpx import AsyncLaneTransport, LaneTransport

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
from .servers import CaptureServer, run_uvicorn

KINDS = ("sync", "aio")


def lane_members(headers: list[Any] | dict[str, str]) -> list[str]:
    """Every ``lane`` member across the baggage entries of *headers*."""
    if isinstance(headers, dict):
        entries = [headers["baggage"]] if "baggage" in headers else []
    else:
        entries = values(headers, "baggage")
    return list(member_values(entries, "lane"))


def downstream(seen: Any) -> dict[str, str]:
    """The headers the handler's downstream HTTP call carried, as a dict."""
    return {h.name: h.value for h in seen.downstream}


class Probe:
    """A running Probe server (sync or aio) and a way to call it."""

    def __init__(self, kind: str, target: str, wired: bool) -> None:
        self.kind = kind
        self.target = target
        self.wired = wired

    def call(
        self, shape: str, ask: Any, metadata: Any = None, lane: str | None = None
    ) -> list[Any]:
        """Make one RPC of *shape*, with *lane* current in the client."""
        if self.kind == "sync":
            return self._sync(shape, ask, metadata, lane)
        return asyncio.run(self._aio(shape, ask, metadata, lane))

    def _sync(self, shape: str, ask: Any, metadata: Any, lane: str | None) -> list[Any]:
        channel = grpc.insecure_channel(self.target)
        if self.wired:
            channel = grpc.intercept_channel(channel, LaneClientInterceptor(self.target))
        with channel, lanectx.use_lane(lane):
            return call(services.ProbeStub(channel), shape, ask, metadata)

    async def _aio(self, shape: str, ask: Any, metadata: Any, lane: str | None) -> list[Any]:
        ours = async_client_interceptors(self.target) if self.wired else None
        async with grpc.aio.insecure_channel(self.target, interceptors=ours) as channel:
            with lanectx.use_lane(lane):
                return await acall(services.ProbeStub(channel), shape, ask, metadata)


def start_probe(stack: ExitStack, kind: str, wired: bool) -> Probe:
    """Start a Probe server: *wired* adds interceptors by hand, else `instrument()` does."""
    if kind == "sync":
        http = httpx.Client(transport=LaneTransport(httpx.HTTPTransport())) if wired else None
        servicer = SyncProbe(http or httpx.Client())
        stack.callback(servicer.http.close)
        target = stack.enter_context(
            sync_server(servicer, [LaneServerInterceptor()] if wired else ())
        )
    else:

        def make() -> AsyncProbe:
            if wired:
                return AsyncProbe(
                    httpx.AsyncClient(transport=AsyncLaneTransport(httpx.AsyncHTTPTransport()))
                )
            return AsyncProbe(httpx.AsyncClient())

        interceptors = [AsyncLaneServerInterceptor()] if wired else ()
        target = stack.enter_context(aio_server(make, interceptors))
    return Probe(kind, target, wired)


@pytest.fixture(scope="module")
def capture_url() -> Iterator[str]:
    """One capture server for the module."""
    with CaptureServer() as server:
        yield f"{server.url}/capture"


@pytest.fixture(scope="module", params=KINDS)
def probe(request: pytest.FixtureRequest) -> Iterator[Probe]:
    """A Probe server with hand-wired interceptors, sync or aio."""
    with ExitStack() as stack:
        yield start_probe(stack, request.param, wired=True)


@pytest.mark.parametrize("wiring", ["by-hand", "instrument"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_lane_reaches_handler_and_downstream(
    kind: str, shape: str, wiring: str, capture_url: str
) -> None:
    """A client's lane is current in every handler step and goes on to the downstream call."""
    if wiring == "instrument":
        assert lanectx.instrument()
    with ExitStack() as stack:
        probe = start_probe(stack, kind, wired=wiring == "by-hand")
        ask = protos.Ask(tag="t", downstream=capture_url, replies=2)
        replies = probe.call(shape, ask, lane="pr-7")
    assert len(replies) == (2 if shape.endswith("_stream") else 1)
    for seen in replies:
        assert seen.lane == "pr-7"
        assert values(seen.metadata, "x-lane-id") == ["pr-7"]
        assert lane_members(seen.metadata) == ["pr-7"]
        assert downstream(seen).get("x-lane-id") == "pr-7"
        assert lane_members(downstream(seen)) == ["pr-7"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_lane_sends_nothing(kind: str, shape: str, capture_url: str) -> None:
    """Without a lane the handler has none and no lane metadata or header goes anywhere."""
    with ExitStack() as stack:
        probe = start_probe(stack, kind, wired=True)
        replies = probe.call(shape, protos.Ask(downstream=capture_url), lane=None)
    for seen in replies:
        assert seen.lane == ""
        assert values(seen.metadata, "x-lane-id") == []
        assert values(seen.metadata, "baggage") == []
        assert "x-lane-id" not in downstream(seen)
        assert "baggage" not in downstream(seen)


# (metadata sent, lane expected in the handler, a drop is logged)
INBOUND = [
    pytest.param([("x-lane-id", "pr-5")], "pr-5", False, id="x-lane-id"),
    pytest.param([("x-pr-id", "5")], "pr-5", False, id="x-pr-id-number"),
    pytest.param([("x-pr-id", "pr-5")], "pr-5", False, id="x-pr-id-lane"),
    pytest.param([("baggage", "lane=pr-5")], "pr-5", False, id="baggage"),
    pytest.param([("baggage", "a=1, lane = pr-5 ;p=1,b=2")], "pr-5", False, id="baggage-ows"),
    pytest.param([("baggage", "a=1"), ("baggage", "lane=pr-5")], "pr-5", False, id="two-baggage"),
    pytest.param([("baggage", "a=1;lane=pr-5")], None, False, id="lane-in-property"),
    pytest.param([], None, False, id="none"),
    pytest.param([("x-lane-id", "PR_5!")], None, True, id="bad-grammar"),
    pytest.param([("baggage", "lane=Not_A_Lane,a=1")], None, True, id="bad-baggage"),
    pytest.param([("x-lane-id", "x" * 4000)], None, True, id="huge"),
    pytest.param([("x-lane-id-bin", b"pr-5")], None, True, id="binary"),
    pytest.param([("x-lane-id-bin", b"pr-5"), ("x-pr-id", "6")], "pr-6", True, id="binary-then"),
    pytest.param(
        [("x-lane-id", "pr-1"), ("x-pr-id", "2"), ("baggage", "lane=pr-3")],
        "pr-1",
        False,
        id="precedence",
    ),
    pytest.param([("x-lane-id", "BAD"), ("x-pr-id", "2")], "pr-2", True, id="bad-then-pr-id"),
]


@pytest.mark.parametrize(("metadata", "lane", "logged"), INBOUND)
def test_inbound_metadata(
    probe: Probe,
    capture_url: str,
    caplog: pytest.LogCaptureFixture,
    metadata: list[tuple[str, Any]],
    lane: str | None,
    logged: bool,
) -> None:
    """Each metadata form gives the contract's lane; bad values are logged, never an error."""
    caplog.set_level(logging.DEBUG, logger="lanectx")
    (seen,) = probe.call("unary_unary", protos.Ask(downstream=capture_url), metadata)
    assert (seen.lane or None) == lane
    assert downstream(seen).get("x-lane-id") == lane
    assert lane_members(downstream(seen)) == ([lane] if lane else [])
    drops = [r for r in caplog.records if r.getMessage().startswith("dropped invalid lane")]
    assert bool(drops) == logged


@pytest.mark.parametrize("kind", KINDS)
def test_baggage_only_lane_is_routed_like_header(kind: str, capture_url: str) -> None:
    """A call carrying only ``baggage: lane=pr-9`` (any OTel service) acts like ``x-lane-id``."""
    ask = protos.Ask(downstream=capture_url)
    with ExitStack() as stack:
        probe = start_probe(stack, kind, wired=True)
        (by_baggage,) = probe.call("unary_unary", ask, [("baggage", "lane=pr-9")])
        (by_header,) = probe.call("unary_unary", ask, [("x-lane-id", "pr-9")])
    assert by_baggage.lane == by_header.lane == "pr-9"
    for name in ("x-lane-id", "baggage"):
        assert downstream(by_baggage)[name] == downstream(by_header)[name]


@pytest.mark.parametrize("kind", KINDS)
def test_stream_keeps_lane_while_other_rpcs_run(kind: str, capture_url: str) -> None:
    """A server stream that resumes after another lane's RPC ran still sees its own lane."""
    held = protos.Ask(tag="a", downstream=capture_url, replies=3, hold=True)
    other = protos.Ask(tag="b", downstream=capture_url, release=True)
    with ExitStack() as stack:
        probe = start_probe(stack, kind, wired=True)
        if kind == "sync":
            replies, between = _interleave_sync(probe.target, held, other)
        else:
            replies, between = asyncio.run(_interleave_aio(probe.target, held, other))
    assert between.lane == "pr-2"
    assert downstream(between)["x-lane-id"] == "pr-2"
    assert [r.lane for r in replies] == ["pr-1"] * 3
    assert [downstream(r)["x-lane-id"] for r in replies] == ["pr-1"] * 3


def _interleave_sync(target: str, held: Any, other: Any) -> tuple[list[Any], Any]:
    with grpc.insecure_channel(target) as channel:
        stub = services.ProbeStub(channel)
        stream = stub.ServerStream(held, metadata=[("x-lane-id", "pr-1")], timeout=10)
        first = next(stream)
        between = stub.Unary(other, metadata=[("x-lane-id", "pr-2")], timeout=10)
        return [first, *stream], between


async def _interleave_aio(target: str, held: Any, other: Any) -> tuple[list[Any], Any]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = services.ProbeStub(channel)
        stream = stub.ServerStream(held, metadata=(("x-lane-id", "pr-1"),), timeout=10)
        first = await stream.read()
        between = await stub.Unary(other, metadata=(("x-lane-id", "pr-2"),), timeout=10)
        replies = [first]
        while (reply := await stream.read()) is not grpc.aio.EOF:
            replies.append(reply)
        return replies, between


def grpc_caller(targets: dict[str, str], capture_url: str) -> Any:
    """An ASGI app whose one endpoint makes the RPC named in its query; no lane code in it."""

    def sync_rpc(target: str, shape: str, ask: Any) -> list[Any]:
        channel = grpc.intercept_channel(
            grpc.insecure_channel(target), LaneClientInterceptor(target)
        )
        with channel:
            return call(services.ProbeStub(channel), shape, ask)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = dict(pair.split("=") for pair in scope["query_string"].decode().split("&"))
        kind, shape = query["kind"], query["shape"]
        target = targets[kind]
        ask = protos.Ask(downstream=capture_url, replies=2)
        if kind == "sync":
            replies = await asyncio.to_thread(sync_rpc, target, shape, ask)
        else:
            ours = async_client_interceptors(target)
            async with grpc.aio.insecure_channel(target, interceptors=ours) as channel:
                replies = await acall(services.ProbeStub(channel), shape, ask)
        found = [
            {"lane": r.lane, "sent": values(r.metadata, "x-lane-id"), "down": downstream(r)}
            for r in replies
        ]
        body = json.dumps({"lane": lanectx.current_lane(), "replies": found}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return asgi.LaneMiddleware(app)


@pytest.fixture(scope="module")
def http_front(capture_url: str) -> Iterator[str]:
    """An HTTP service (uvicorn) in front of a sync and an aio Probe server; its URL."""
    with ExitStack() as stack:
        targets = {kind: start_probe(stack, kind, wired=True).target for kind in KINDS}
        yield stack.enter_context(run_uvicorn(grpc_caller(targets, capture_url)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_http_to_grpc_to_http(http_front: str, kind: str, shape: str) -> None:
    """An HTTP request's lane reaches a gRPC handler of each shape and its downstream call."""
    response = httpx.get(
        f"{http_front}/?kind={kind}&shape={shape}", headers={"x-pr-id": "42"}, timeout=10
    )
    result = response.json()
    assert result["lane"] == "pr-42"
    assert result["replies"]
    for reply in result["replies"]:
        assert (reply["lane"], reply["sent"]) == ("pr-42", ["pr-42"])
        assert reply["down"]["x-lane-id"] == "pr-42"
        assert lane_members(reply["down"]) == ["pr-42"]


def test_public_names_match_all() -> None:
    """`lanectx.grpc` exports exactly its gRPC names, each with a one-line summary."""
    ours = {
        name
        for name, value in vars(lanectx.grpc).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "") in ("lanectx._grpc_client", "lanectx._grpc_server")
    }
    assert ours == set(lanectx.grpc.__all__)
    for name in lanectx.grpc.__all__:
        summary = (getattr(lanectx.grpc, name).__doc__ or "").split("\n")[0]
        assert summary.endswith("."), name
