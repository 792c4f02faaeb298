"""Per-request cost of the ASGI lane lift, in process, against the bare app in the same run.

    python benchmarks/asgi_lift.py [--quick]

Calls the ASGI app directly (no server, no network) so only the middleware is
measured; rounds of bare and lifted runs are interleaved and medians compared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from lanectx.asgi import LaneMiddleware

HEADERS_PLAIN = [
    (b"host", b"productpage:9080"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
    (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]
HEADERS_LANE = [*HEADERS_PLAIN, (b"x-lane-id", b"pr-123")]
HEADERS_BAGGAGE = [*HEADERS_PLAIN, (b"baggage", b"tenant=a,lane=pr-123,user=42")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    return None


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": headers}


async def _run(target: Callable[..., Awaitable[None]], scope: dict[str, Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await target(scope, _receive, _send)
    return (time.perf_counter() - start) / n * 1e6


async def measure(rounds: int, n: int) -> list[tuple[str, float, float, float]]:
    lifted = LaneMiddleware(app)
    cases = [
        ("bare app, no lane", app, HEADERS_PLAIN),
        ("lift, no lane", lifted, HEADERS_PLAIN),
        ("lift, x-lane-id", lifted, HEADERS_LANE),
        ("lift, baggage lane", lifted, HEADERS_BAGGAGE),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(rounds):
        for name, target, headers in cases:
            samples[name].append(await _run(target, _scope(headers), n))
    bare = statistics.median(samples[cases[0][0]])
    rows = []
    for name, _, _ in cases:
        values = sorted(samples[name])
        median = statistics.median(values)
        spread = values[-1] - values[0]
        rows.append((name, median, spread, median - bare))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only")
    args = parser.parse_args(argv)
    rounds, n = (3, 2000) if args.quick else (15, 20000)
    rows = asyncio.run(measure(rounds, n))
    bare = rows[0][1]
    print(f"ASGI lane lift, in process: {rounds} rounds x {n} calls, medians")
    print()
    print("| case | µs/request | spread (max-min) | added µs | throughput vs bare |")
    print("|---|---:|---:|---:|---:|")
    for name, median, spread, added in rows:
        print(f"| {name} | {median:.2f} | {spread:.2f} | {added:+.2f} | {bare / median:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
