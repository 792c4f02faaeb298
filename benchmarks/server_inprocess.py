"""Per-request server cost in process: the ASGI and WSGI apps called directly, no network.

    python benchmarks/server_inprocess.py [--quick]

Four stacks (see ``_apps.py``): bare, lanectx lift only, OTel only, OTel + lanectx;
requests with ``x-lane-id: pr-123`` and without a lane. Rounds of every case are
interleaved in a rotating order, each round of a case a fixed slice of time; times are
process CPU time (steadier than wall time on a shared machine; it includes the span
processor's thread). The table gives the median of the per-round means,
their min-max range, the µs added over the stack's baseline measured in the same run,
and the throughput ratio (baseline µs / case µs). Targets: lift ≤ +2 µs per request;
OTel + lanectx ≥ 0.95x OTel alone.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from _apps import VARIANTS, asgi_app, lanectx_off, lanectx_on, wsgi_app
from _bench import interleave, spread, summary, verdict

BASE = [
    (b"host", b"productpage:9080"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
    (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]
HEADERS = {"no lane": BASE, "x-lane-id": [*BASE, (b"x-lane-id", b"pr-123")]}


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def _environ(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
    }
    for name, value in headers:
        key = name.decode().upper().replace("-", "_")
        environ["HTTP_HOST" if key == "HOST" else f"HTTP_{key}"] = value.decode()
    return environ


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def _start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    return None


def _asgi_runner(counts: dict[str, int]) -> Callable[[str], float]:
    apps = {variant: asgi_app(variant) for variant in VARIANTS}
    loop = asyncio.new_event_loop()

    async def calls(app: Any, scope: dict[str, Any], n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            await app(dict(scope), _receive, _send)
        return (time.process_time() - start) / n * 1e6

    def run(case: str) -> float:
        variant, lane = case.split(" / ")
        lanectx_on(variant)
        try:
            scope = _scope(HEADERS[lane])
            return loop.run_until_complete(calls(apps[variant], scope, counts.get(case, 20)))
        finally:
            lanectx_off()

    return run


def _wsgi_runner(counts: dict[str, int]) -> Callable[[str], float]:
    apps = {variant: wsgi_app(variant) for variant in VARIANTS}

    def run(case: str) -> float:
        variant, lane = case.split(" / ")
        app, environ, n = apps[variant], _environ(HEADERS[lane]), counts.get(case, 20)
        lanectx_on(variant)
        try:
            start = time.process_time()
            for _ in range(n):
                body = app(dict(environ), _start_response)
                for _chunk in body:
                    pass
                getattr(body, "close", lambda: None)()
            return (time.process_time() - start) / n * 1e6
        finally:
            lanectx_off()

    return run


def table(kind: str, samples: dict[str, list[float]]) -> list[str]:
    """Return the markdown rows for one interface, with the targets marked."""
    median = {case: summary(values)[0] for case, values in samples.items()}
    rows = []
    for case, values in samples.items():
        variant, lane = case.split(" / ")
        base = {"lift": "bare", "otel+lanectx": "otel"}.get(variant)
        added = ratio = target = ""
        if base:
            baseline = median[f"{base} / {lane}"]
            added = f"{median[case] - baseline:+.2f}"
            ratio = f"{baseline / median[case]:.3f}x"
            if variant == "lift":
                target = f"≤ +2 µs: {verdict(median[case] - baseline <= 2.0)}"
            else:
                target = f"≥ 0.95x: {verdict(baseline / median[case] >= 0.95)}"
        rows.append(
            f"| {kind} | {variant} | {lane} | {median[case]:.2f} | {spread(values)} "
            f"| {added} | {ratio} | {target} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds only")
    args = parser.parse_args(argv)
    rounds, slice_s = (3, 0.02) if args.quick else (21, 0.25)
    cases = [f"{variant} / {lane}" for variant in VARIANTS for lane in HEADERS]
    results = {}
    for kind, make in (("ASGI", _asgi_runner), ("WSGI", _wsgi_runner)):
        counts: dict[str, int] = {}
        runner = make(counts)
        for case in cases:  # warm up, then size each case's round to the time slice
            counts[case] = max(20, int(slice_s / (min(runner(case) for _ in range(3)) * 1e-6)))
        results[kind] = interleave(cases, rounds, runner)
    print(f"In process, app called directly: {rounds} interleaved rounds of ~{slice_s} s per case.")
    print("µs/request: median of per-round means; added and ratio are against the same")
    print("stack without lanectx (lift vs bare, OTel + lanectx vs OTel), same lane header.")
    print()
    print("| app | stack | request | µs/request | spread | added µs | throughput ratio | target |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for kind, samples in results.items():
        print("\n".join(table(kind, samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
