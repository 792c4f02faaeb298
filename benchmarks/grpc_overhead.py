"""Per-RPC cost of lanectx's gRPC interceptors against plain gRPC, sync and aio, in one run.

    python benchmarks/grpc_overhead.py [--quick]

Real servers and channels on 127.0.0.1 (port 0), unary-unary RPCs with a few bytes
each way. Each stack runs a plain server + channel and a lanectx one (server and
client interceptors) side by side, and one with do-nothing interceptors, which
shows what gRPC's interceptor machinery itself costs (and, with the two lane
entries added by hand, what carrying them costs), and a lanectx one whose server
answers with ``x-lane-served`` (`LaneConfig.served_header`, off in the others).
Rounds of every case are interleaved (in a rotating order); ratios are of the
medians of the per-round means, for wall time and for the process's CPU time (client
and server both run here, so CPU time counts all the work and is less disturbed by
other load on the machine).
A last table compares a channel in client routing mode with one in mesh mode
(target ≤ 1.1x).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import timeit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import grpc
import grpc.aio
from _routing import rpc_rows

import lanectx
from lanectx.grpc import (
    AsyncLaneServerInterceptor,
    LaneClientInterceptor,
    LaneServerInterceptor,
    async_client_interceptors,
)

METHOD = "/bench.Echo/Echo"
REQUEST = b"x" * 32
METADATA = (("user-agent-extra", "bench"), ("x-request-id", "0" * 32))
Sample = tuple[float, float]  # (wall µs, process CPU µs) per RPC


def _metadata(kind: str, with_lane: bool) -> tuple[tuple[str, str], ...]:
    """The call's metadata; no-op channels carry the lane entries by hand when asked."""
    return METADATA + LANE_METADATA if kind == "noop" and with_lane else METADATA


def _per_rpc(wall: float, cpu: float, count: int) -> Sample:
    return (
        (time.perf_counter() - wall) / count * 1e6,
        (time.process_time() - cpu) / count * 1e6,
    )


def _echo(request: bytes, context: Any) -> bytes:
    lanectx.current_lane()  # what a handler that logs its lane does
    return request


async def _async_echo(request: bytes, context: Any) -> bytes:
    return _echo(request, context)


def _handler(behavior: Callable[..., Any]) -> grpc.GenericRpcHandler:
    method = grpc.unary_unary_rpc_method_handler(behavior)
    return grpc.method_handlers_generic_handler("bench.Echo", {"Echo": method})


class _NoopServer(grpc.ServerInterceptor):  # type: ignore[misc]
    def intercept_service(self, continuation: Any, details: Any) -> Any:
        return continuation(details)


class _AsyncNoopServer(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        return await continuation(details)


class _NoopClient(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(details, request)


class _AsyncNoopClient(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(details, request)


# case name -> (server + channel kind, lane current in the client?)
CASES = {
    "plain gRPC": ("plain", False),
    "no-op interceptors": ("noop", False),
    "no-op interceptors + lane metadata": ("noop", True),
    "lanectx, no lane": ("lanectx", False),
    "lanectx, lane": ("lanectx", True),
    "lanectx + x-lane-served, lane": ("served", True),
}
LANE_METADATA = (("x-lane-id", "pr-123"), ("baggage", "lane=pr-123"))
KINDS = ("plain", "noop", "lanectx", "served")
SERVED = lanectx.LaneConfig(served_header="x-lane-served")


def _rounds(run: Callable[[str, int], Sample], rounds: int, n: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {name: [] for name in CASES}
    for name in CASES:
        run(name, max(n // 10, 10))  # warm up
    names = list(CASES)
    for number in range(rounds):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            samples[name].append(run(name, n))
    return samples


def measure_sync(rounds: int, n: int) -> dict[str, list[Sample]]:
    """Per-RPC µs of each case over a sync server (4 pool threads) and channel."""
    with ExitStack() as stack:
        calls: dict[str, Any] = {}
        for kind in KINDS:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=4))
            interceptors = {"plain": None, "noop": [_NoopServer()]}.get(
                kind, [LaneServerInterceptor(SERVED if kind == "served" else None)]
            )
            server = grpc.server(pool, handlers=[_handler(_echo)], interceptors=interceptors)
            port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            stack.callback(server.stop, None)
            target = f"127.0.0.1:{port}"
            channel = stack.enter_context(grpc.insecure_channel(target))
            if kind == "noop":
                channel = grpc.intercept_channel(channel, _NoopClient())
            elif kind in ("lanectx", "served"):
                channel = grpc.intercept_channel(channel, LaneClientInterceptor(target))
            calls[kind] = channel.unary_unary(METHOD)

        def run(name: str, count: int) -> Sample:
            kind, with_lane = CASES[name]
            rpc = calls[kind]
            metadata = _metadata(kind, with_lane)
            with lanectx.use_lane("pr-123" if with_lane else None):
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(count):
                    rpc(REQUEST, metadata=metadata, timeout=10)
                return _per_rpc(wall, cpu, count)

        return _rounds(run, rounds, n)


async def _measure_aio(rounds: int, n: int) -> dict[str, list[Sample]]:
    calls: dict[str, Any] = {}
    servers = []
    channels = []
    for kind in KINDS:
        interceptors = {"plain": None, "noop": [_AsyncNoopServer()]}.get(
            kind, [AsyncLaneServerInterceptor(SERVED if kind == "served" else None)]
        )
        server = grpc.aio.server(handlers=[_handler(_async_echo)], interceptors=interceptors)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        target = f"127.0.0.1:{port}"
        clients = {"plain": None, "noop": [_AsyncNoopClient()]}.get(
            kind, async_client_interceptors(target)
        )
        channel = grpc.aio.insecure_channel(target, interceptors=clients)
        channels.append(channel)
        calls[kind] = channel.unary_unary(METHOD)

    async def run_async(name: str, count: int) -> Sample:
        kind, with_lane = CASES[name]
        rpc = calls[kind]
        metadata = _metadata(kind, with_lane)
        with lanectx.use_lane("pr-123" if with_lane else None):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                await rpc(REQUEST, metadata=metadata, timeout=10)
            return _per_rpc(wall, cpu, count)

    samples: dict[str, list[Sample]] = {name: [] for name in CASES}
    try:
        for name in CASES:
            await run_async(name, max(n // 10, 10))
        names = list(CASES)
        for number in range(rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                samples[name].append(await run_async(name, n))
    finally:
        for channel in channels:
            await channel.close()
        for server in servers:
            await server.stop(None)
    return samples


def measure_aio(rounds: int, n: int) -> dict[str, list[Sample]]:
    """Per-RPC µs of each case over a grpc.aio server and channel on one event loop."""
    return asyncio.run(_measure_aio(rounds, n))


class _Details:
    """Handler call details or client call details, as gRPC hands them to interceptors."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method = METHOD
        self.invocation_metadata = self.metadata = metadata
        self.timeout = self.credentials = self.wait_for_ready = self.compression = None


def interceptor_work(n: int) -> list[tuple[str, float]]:
    """µs per RPC of the sync interceptors' own work, in process: no network, no gRPC core."""
    server = LaneServerInterceptor()
    client = LaneClientInterceptor("reviews:9080")
    handler = grpc.unary_unary_rpc_method_handler(_echo)

    def one_rpc(metadata: tuple[tuple[str, str], ...]) -> None:
        sent = client.intercept_unary_unary(lambda d, r: d.metadata, _Details(metadata), REQUEST)
        wrapped = server.intercept_service(lambda d: handler, _Details(tuple(sent)))
        wrapped.unary_unary(REQUEST, None)

    rows = []
    for name, lane in (("no lane", None), ("lane", "pr-123")):
        with lanectx.use_lane(lane):
            best = min(timeit.repeat(lambda: one_rpc(METADATA), number=n, repeat=5))
        rows.append((name, best / n * 1e6))
    return rows


def _medians(values: list[Sample]) -> Sample:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only")
    args = parser.parse_args(argv)
    rounds, n = (3, 200) if args.quick else (12, 1500)
    results = {"sync": measure_sync(rounds, n), "aio": measure_aio(rounds, n)}
    print(f"gRPC unary RPCs on 127.0.0.1: {rounds} rounds x {n} RPCs per case, medians.")
    print("Wall: time per RPC. CPU: process CPU time (client and server) per RPC.")
    print()
    print("| stack | case | wall µs/RPC | wall ratio | CPU µs/RPC | CPU ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for stack, samples in results.items():
        plain_wall, plain_cpu = _medians(samples["plain gRPC"])
        for name, values in samples.items():
            wall, cpu = _medians(values)
            print(
                f"| {stack} | {name} | {wall:.1f} | {wall / plain_wall:.3f} "
                f"| {cpu:.1f} | {cpu / plain_cpu:.3f} |"
            )
    print()
    print("Interceptor work alone (sync client + server, in process, best of 5):")
    print()
    print("| case | µs/RPC |")
    print("|---|---:|")
    for name, micros in interceptor_work(2000 if args.quick else 20000):
        print(f"| {name} | {micros:.1f} |")
    print()
    print("Client routing: whole sync RPCs through a channel lanectx.instrument() made, in")
    print("client routing mode (to reviews:9080, routed by the lane map) against mesh mode")
    print("(to the server itself); process CPU time, rounds paired:")
    print()
    print("\n".join(rpc_rows(rounds, n)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
