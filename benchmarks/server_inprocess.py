"""Per-request server cost in process: the ASGI and WSGI apps called directly, no network.

    python benchmarks/server_inprocess.py [--quick]

Four stacks (see ``_apps.py``): bare, lanectx lift only, OTel only, OTel + lanectx;
requests with ``x-lane-id: pr-123`` and without a lane. Rounds of every case are
run as pairs, each stack with lanectx right after (or before) the same stack without
it, each run a fixed slice of time; times are process CPU time (steadier than wall time
on a shared machine; it includes the span processor's thread). The table gives the
median of the per-round means and their min-max range; the µs added and the throughput
ratio (baseline µs / case µs) are medians over rounds of each round's pair. Targets:
lift ≤ +2 µs per request; OTel + lanectx ≥ 0.95x OTel alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _apps import VARIANTS, asgi_app, lanectx_off, lanectx_on, wsgi_app
from _bench import paired, spread, summary, verdict

BASE = [
    (b"host", b"productpage:9080"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
    (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]
HEADERS = {
    "no lane": BASE,
    "x-lane-id": [*BASE, (b"x-lane-id", b"pr-123")],
    "lane + baggage": [*BASE, (b"x-lane-id", b"pr-123"), (b"baggage", b"foo=1,bar=2")],
}


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
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
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
        gc.collect()  # not the garbage of instrument() into the timed calls
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
        gc.collect()  # not the garbage of instrument() into the timed calls
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


BASELINE = {"lift": "bare", "otel+lanectx": "otel"}
PAIRS = [
    (f"{base} / {lane}", f"{variant} / {lane}")
    for variant, base in BASELINE.items()
    for lane in HEADERS
]


def table(kind: str, samples: dict[str, list[float]]) -> list[str]:
    """Return the markdown rows for one interface, with the targets marked."""
    median = {case: summary(values)[0] for case, values in samples.items()}
    rows = []
    for case, values in sorted(
        samples.items(), key=lambda item: VARIANTS.index(item[0].split(" / ")[0])
    ):
        variant, lane = case.split(" / ")
        base = BASELINE.get(variant)
        added = ratio = target = ""
        if base:
            pairs = list(zip(samples[f"{base} / {lane}"], values, strict=True))
            more = statistics.median(ours - theirs for theirs, ours in pairs)
            times = statistics.median(theirs / ours for theirs, ours in pairs)
            added, ratio = f"{more:+.2f}", f"{times:.3f}x"
            if variant == "lift":
                target = f"≤ +2 µs: {verdict(more <= 2.0)}"
            else:
                target = f"≥ 0.95x: {verdict(times >= 0.95)}"
        rows.append(
            f"| {kind} | {variant} | {lane} | {median[case]:.2f} | {spread(values)} "
            f"| {added} | {ratio} | {target} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds only")
    args = parser.parse_args(argv)
    rounds, slice_s = (2, 0.02) if args.quick else (30, 0.25)
    cases = [name for pair in PAIRS for name in pair]
    results = {}
    for kind, make in (("ASGI", _asgi_runner), ("WSGI", _wsgi_runner)):
        counts: dict[str, int] = {}
        runner = make(counts)
        for case in cases:  # warm up, then size each case's round to the time slice
            counts[case] = max(20, int(slice_s / (min(runner(case) for _ in range(3)) * 1e-6)))
        results[kind] = paired(PAIRS, rounds, runner)
    print(f"In process, app called directly: {rounds} rounds of ~{slice_s} s per case, each")
    print("case right beside its baseline, the same stack without lanectx (lift vs bare,")
    print("OTel + lanectx vs OTel) and the same lane header. µs/request: median of per-round")
    print("means; added and ratio: medians of the per-round differences and ratios.")
    print()
    print("| app | stack | request | µs/request | spread | added µs | throughput ratio | target |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for kind, samples in results.items():
        print("\n".join(table(kind, samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
