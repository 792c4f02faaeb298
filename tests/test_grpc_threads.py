"""Many RPCs at once, few workers: each RPC sees its own lane, and no lane outlives its RPC."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest

import lanectx
from lanectx.grpc import AsyncLaneServerInterceptor, LaneServerInterceptor
from lanectx.httpx import AsyncLaneTransport, LaneTransport

from .protos.probe import SHAPES, AsyncProbe, SyncProbe, aio_server, call, protos, services
from .protos.probe import sync_server as run_sync_server
from .servers import CaptureServer

WORKERS = 4


def lane_of(n: int) -> str | None:
    """RPC *n*'s lane: every third RPC has none, the others a lane of their own."""
    return None if n % 3 == 2 else f"pr-{n}"


def metadata_of(n: int) -> list[tuple[str, str]]:
    """RPC *n*'s metadata, in a rotating inbound form."""
    lane = lane_of(n)
    if lane is None:
        return [("x-custom", str(n))]
    forms = [
        [("x-lane-id", lane)],
        [("x-pr-id", str(n))],
        [("baggage", f"a={n},lane={lane}")],
    ]
    return forms[(n // 3) % 3]


def wrong(replies: list[tuple[int, Any]]) -> list[tuple[int, str, str]]:
    """The replies whose handler lane or downstream header is not their RPC's own lane."""
    bad = []
    for n, seen in replies:
        expected = lane_of(n) or ""
        down = {h.name: h.value for h in seen.downstream}.get("x-lane-id", "")
        if (seen.tag, seen.lane, down) != (str(n), expected, expected):
            bad.append((n, seen.lane, down))
    return bad


@pytest.fixture(scope="module")
def capture_url() -> Iterator[str]:
    """One capture server for the module."""
    with CaptureServer() as server:
        yield f"{server.url}/capture"


@pytest.mark.parametrize("wiring", ["by-hand", "instrument"])
def test_sync_pool_200_concurrent_lanes_never_mix(wiring: str, capture_url: str) -> None:
    """200 concurrent RPCs on 4 pool threads: each sees only its own lane, lane-less ones none."""
    by_hand = wiring == "by-hand"
    if not by_hand:
        lanectx.instrument()
    with ExitStack() as stack:
        transport = LaneTransport(httpx.HTTPTransport()) if by_hand else None
        http = stack.enter_context(httpx.Client(transport=transport, limits=httpx.Limits()))
        servicer = SyncProbe(http)
        interceptors = [LaneServerInterceptor()] if by_hand else []
        target = stack.enter_context(run_sync_server(servicer, interceptors, workers=WORKERS))
        channel = stack.enter_context(grpc.insecure_channel(target))
        stub = services.ProbeStub(channel)
        futures = [
            (
                n,
                stub.Unary.future(
                    protos.Ask(tag=str(n), downstream=capture_url),
                    metadata=metadata_of(n),
                    timeout=30,
                ),
            )
            for n in range(300)
        ]
        replies = [(n, future.result()) for n, future in futures]
    assert len([n for n, _ in replies if lane_of(n)]) == 200
    assert wrong(replies) == []
    per_thread = Counter(thread for thread, _, _ in servicer.threads)
    assert len(per_thread) <= WORKERS
    assert min(per_thread.values()) > 1  # threads were reused across lanes


@pytest.mark.parametrize("shape", SHAPES)
def test_sync_single_worker_lane_does_not_bleed(shape: str) -> None:
    """On a one-thread pool, a lane-less RPC after a lane RPC of any shape sees no lane."""
    with ExitStack() as stack:
        servicer = SyncProbe(stack.enter_context(httpx.Client()))
        target = stack.enter_context(
            run_sync_server(servicer, [LaneServerInterceptor()], workers=1)
        )
        stub = services.ProbeStub(stack.enter_context(grpc.insecure_channel(target)))
        ask = protos.Ask(replies=2)
        first = call(stub, shape, ask, [("x-lane-id", "pr-1")])
        after = call(stub, "unary_unary", ask, [("x-custom", "1")])
    assert {s.lane for s in first} == {"pr-1"}
    assert len({thread for thread, _, _ in servicer.threads}) == 1
    assert after[0].lane == ""


@pytest.mark.parametrize("shape", SHAPES)
def test_aio_server_sync_handlers_on_pool_do_not_bleed(shape: str) -> None:
    """An aio server's plain handlers (on its one-thread pool) get the lane, and never keep it."""
    with ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        make = lambda: SyncProbe(httpx.Client())  # noqa: E731
        target = stack.enter_context(aio_server(make, [AsyncLaneServerInterceptor()], pool))
        stub = services.ProbeStub(stack.enter_context(grpc.insecure_channel(target)))
        ask = protos.Ask(replies=2)
        first = call(stub, shape, ask, [("x-lane-id", "pr-1")])
        after = [call(stub, s, ask, [("x-custom", "1")]) for s in SHAPES]
    assert {s.lane for s in first} == {"pr-1"}
    assert {s.lane for replies in after for s in replies} == {""}


def test_aio_200_concurrent_lanes_never_mix(capture_url: str) -> None:
    """200 concurrent aio RPCs interleaved on one loop: each sees only its own lane."""

    def make() -> AsyncProbe:
        return AsyncProbe(
            httpx.AsyncClient(
                transport=AsyncLaneTransport(
                    httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=50))
                )
            )
        )

    async def run(target: str) -> list[tuple[int, Any]]:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = services.ProbeStub(channel)

            async def one(n: int) -> tuple[int, Any]:
                ask = protos.Ask(tag=str(n), downstream=capture_url)
                return n, await stub.Unary(ask, metadata=tuple(metadata_of(n)), timeout=30)

            return list(await asyncio.gather(*(one(n) for n in range(300))))

    with aio_server(make, [AsyncLaneServerInterceptor()]) as target:
        replies = asyncio.run(run(target))
    assert len(replies) == 300
    assert wrong(replies) == []


def test_aio_streams_interleaved_keep_their_lanes() -> None:
    """Fifty aio server streams read in lock-step each keep their own lane on every reply."""

    async def run(target: str) -> list[list[Any]]:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = services.ProbeStub(channel)
            streams = [
                stub.ServerStream(
                    protos.Ask(tag=str(n), replies=3),
                    metadata=(("x-lane-id", f"pr-{n}"),),
                    timeout=30,
                )
                for n in range(50)
            ]
            replies: list[list[Any]] = [[] for _ in streams]
            for _ in range(3):
                for n, stream in enumerate(streams):
                    replies[n].append(await stream.read())
            return replies

    with aio_server(lambda: AsyncProbe(httpx.AsyncClient()), [AsyncLaneServerInterceptor()]) as t:
        replies = asyncio.run(run(t))
    assert [[s.lane for s in r] for r in replies] == [[f"pr-{n}"] * 3 for n in range(50)]
