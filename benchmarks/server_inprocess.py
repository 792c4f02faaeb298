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
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from _apps import VARIANTS, asgi_app, lanectx_on, wsgi_app
from _bench import SERVER_CORE, pinned, spread, stop, summary, verdict

BASE = [
    (b"host", b"productpage:9080"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
    (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]
HEADERS = {"no lane": BASE, "x-lane-id": [*BASE, (b"x-lane-id", b"pr-123")]}
KINDS = ("ASGI", "WSGI")


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


def _asgi_calls(variant: str, lane: str) -> Callable[[int], float]:
    """Return calls(n): CPU µs per request of *n* requests to the ASGI *variant*."""
    app, scope, loop = asgi_app(variant), _scope(HEADERS[lane]), asyncio.new_event_loop()

    async def run(n: int) -> None:
        for _ in range(n):
            await app(dict(scope), _receive, _send)

    def calls(n: int) -> float:
        start = time.process_time()
        loop.run_until_complete(run(n))
        return (time.process_time() - start) / n * 1e6

    return calls


def _wsgi_calls(variant: str, lane: str) -> Callable[[int], float]:
    """Return calls(n): CPU µs per request of *n* requests to the WSGI *variant*."""
    app, environ = wsgi_app(variant), _environ(HEADERS[lane])

    def calls(n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            body = app(dict(environ), _start_response)
            for _chunk in body:
                pass
            getattr(body, "close", lambda: None)()
        return (time.process_time() - start) / n * 1e6

    return calls


def worker(kind: str, case: str, seconds: float) -> None:
    """Serve one case: on each ``go`` line on stdin, run it for *seconds*, print µs/request."""
    variant, lane = case.split(" / ")
    lanectx_on(variant)
    calls = (_asgi_calls if kind == "ASGI" else _wsgi_calls)(variant, lane)
    calls(200)  # warm up
    chunk = max(20, int(0.02 / (calls(200) * 1e-6)))  # about 20 ms of requests per chunk
    print("ready", flush=True)
    for _line in sys.stdin:
        total, n, deadline = 0.0, 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            total += calls(chunk) * chunk
            n += chunk
        print(f"{total / n:.4f}", flush=True)


class _Workers:
    """One worker process per (interface, case), all pinned to the server core."""

    def __init__(self, cases: list[str], seconds: float) -> None:
        self.procs: dict[tuple[str, str], subprocess.Popen[str]] = {}
        for kind in KINDS:
            for case in cases:
                command = [sys.executable, __file__, "--worker", kind, case, str(seconds)]
                self.procs[kind, case] = subprocess.Popen(
                    pinned(SERVER_CORE, command),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
        for proc in self.procs.values():
            if (proc.stdout.readline() if proc.stdout else "").strip() != "ready":
                raise RuntimeError("a benchmark worker did not start")

    def together(self, kind: str, cases: tuple[str, ...]) -> list[float]:
        """Run *cases* at the same time on the server core; return their µs/request."""
        procs = [self.procs[kind, case] for case in cases]
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [float(proc.stdout.readline()) for proc in procs if proc.stdout]

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs.values():
            stop(proc)  # type: ignore[arg-type]


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
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], float(args.worker[2]))
        return 0
    rounds, seconds = (2, 0.1) if args.quick else (16, 1.0)
    cases = [name for pair in PAIRS for name in pair]
    results: dict[str, dict[str, list[float]]] = {kind: {c: [] for c in cases} for kind in KINDS}
    workers = _Workers(cases, seconds)
    try:
        for number in range(rounds):
            for kind in KINDS:
                shift = number % len(PAIRS)
                for pair in PAIRS[shift:] + PAIRS[:shift]:
                    for case, value in zip(pair, workers.together(kind, pair), strict=True):
                        results[kind][case].append(value)
    finally:
        workers.close()
    print("In process, app called directly: each case runs in its own process at the same time")
    print("as its baseline (the same stack without lanectx: lift vs bare, OTel + lanectx vs")
    print(
        f"OTel; same lane header), both on core {SERVER_CORE}, for {seconds:g} s; {rounds} rounds."
    )
    print("µs/request: process CPU time, median of rounds; added and ratio: medians of the")
    print("per-round differences and ratios.")
    print()
    print("| app | stack | request | µs/request | spread | added µs | throughput ratio | target |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for kind, samples in results.items():
        print("\n".join(table(kind, samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
