"""Per-call client cost of outbound lane injection: httpx, requests and gRPC, in process.

    python benchmarks/client_overhead.py [--quick]

httpx (sync client on a `MockTransport`) and requests (a `Session` with an adapter
that answers at once) send a GET to ``http://reviews:9080/`` with no network, so the
client's own work is what is timed. For gRPC, the sync and aio client interceptors
are called with a continuation that returns at once, against a do-nothing interceptor
(gRPC's own interceptor machinery is measured by ``grpc_overhead.py``). Each client runs
uninstrumented and with ``lanectx.instrument()`` (toggled between rounds), with no lane
current and with lane ``pr-123``; rounds are interleaved. Times are process CPU µs per
call, median of rounds. Target: ≤ +1.5 µs per call over the uninstrumented client.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import requests
from _bench import interleave, spread, summary, verdict
from requests.adapters import BaseAdapter

import lanectx
from lanectx.grpc import LaneClientInterceptor, async_client_interceptors

URL = "http://reviews:9080/"
LANES = {"no lane": None, "lane": "pr-123"}


class _Answer(BaseAdapter):  # type: ignore[misc]
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"ok", request
        return response

    def close(self) -> None:
        return None


class _Details(grpc.ClientCallDetails):  # type: ignore[misc]
    method, timeout, credentials, wait_for_ready, compression = "/r.R/Get", 5.0, None, None, None
    metadata = (("x-request-id", "0" * 32),)


def _noop(continuation: Any, details: Any, request: Any) -> Any:
    return continuation(details, request)


async def _async_noop(continuation: Any, details: Any, request: Any) -> Any:
    return await continuation(details, request)


def _callers() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Return client -> (uninstrumented call, lanectx call), each one outgoing call."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
    client = httpx.Client(transport=transport)
    session = requests.Session()
    session.mount("http://", _Answer())
    sync_lane = LaneClientInterceptor("reviews:9080")
    aio_lane = next(
        i for i in async_client_interceptors("reviews:9080") if hasattr(i, "intercept_unary_unary")
    )
    loop = asyncio.new_event_loop()

    def done(details: Any, request: Any) -> Any:
        return request

    async def async_done(details: Any, request: Any) -> Any:
        return request

    details = _Details()
    aio_details = grpc.aio.ClientCallDetails(
        "/r.R/Get", 5.0, grpc.aio.Metadata(*_Details.metadata), None, None
    )
    return {
        "httpx": (lambda: client.get(URL), lambda: client.get(URL)),
        "requests": (lambda: session.get(URL), lambda: session.get(URL)),
        "grpc sync": (
            lambda: _noop(done, details, b""),
            lambda: sync_lane.intercept_unary_unary(done, details, b""),
        ),
        "grpc aio": (
            lambda: loop.run_until_complete(_async_noop(async_done, aio_details, b"")),
            lambda: loop.run_until_complete(
                aio_lane.intercept_unary_unary(async_done, aio_details, b"")
            ),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds only")
    args = parser.parse_args(argv)
    rounds, slice_s = (3, 0.02) if args.quick else (15, 0.15)
    callers = _callers()
    cases = [f"{c} / {w} / {lane}" for c in callers for w in ("plain", "lanectx") for lane in LANES]

    counts: dict[str, int] = {}

    def run(case: str) -> float:
        client, which, lane = case.split(" / ")
        n = counts.get(client, 20)
        call = callers[client][which == "lanectx"]
        if which == "lanectx":
            lanectx.instrument()
        try:
            with lanectx.use_lane(LANES[lane]):
                start = time.process_time()
                for _ in range(n):
                    call()
                return (time.process_time() - start) / n * 1e6
        finally:
            lanectx.uninstrument()

    for case in cases:  # warm up, then size each client's rounds to the time slice
        per_call = min(run(case) for _ in range(3))
        client = case.split(" / ")[0]
        counts[client] = min(counts.get(client, 10**9), max(int(slice_s / (per_call * 1e-6)), 20))
    samples = interleave(cases, rounds, run)
    median = {case: summary(values)[0] for case, values in samples.items()}
    print(f"Outbound calls in process: {rounds} interleaved rounds of ~{slice_s} s per case.")
    print("gRPC rows time the interceptor alone (plain = a do-nothing interceptor).")
    print()
    print(
        "| client | lane current | plain µs/call | lanectx µs/call | spread | added µs | target |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for client in callers:
        for lane in LANES:
            plain, ours = (
                median[f"{client} / plain / {lane}"],
                median[f"{client} / lanectx / {lane}"],
            )
            added = ours - plain
            print(
                f"| {client} | {lane} | {plain:.2f} | {ours:.2f} "
                f"| {spread(samples[f'{client} / lanectx / {lane}'])} | {added:+.2f} "
                f"| ≤ +1.5 µs: {verdict(added <= 1.5)} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
