"""lanectx's own cost on hostile requests, beside its cost on a normal one.

    python benchmarks/hostile_input.py [--quick]

The ASGI and WSGI `LaneMiddleware` around a do-nothing app, called directly (no
network), each input timed right beside the same input to the bare app; lanectx's
cost is the difference. A normal request carries ``x-lane-id`` and a two-member
baggage; the hostile ones carry 64 KiB of percent-encoded baggage members, 10,000
invalid lane members, 5,000 repeated ``x-lane-id`` headers or 5,000 ``baggage``
headers (a WSGI server joins repeats into one comma-separated value). Times are
process CPU time; each figure is the median over rounds. Target: the worst input
costs lanectx at most 10x what a normal request does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from _bench import paired, verdict
from server_inprocess import BASE, _environ, _receive, _scope, _send, _start_response

from lanectx import asgi, wsgi
from lanectx._baggage import _members, capped

Headers = list[tuple[bytes, bytes]]


def _encoded_members(size: int) -> bytes:
    member, members, length = b"", [], 0
    index = 0
    while length < size:
        member = b"k%d=" % index + b"%41%42%43%44" * 8
        members.append(member)
        length += len(member) + 1
        index += 1
    return b",".join(members)


INPUTS: dict[str, Headers] = {
    "normal": [*BASE, (b"x-lane-id", b"pr-123"), (b"baggage", b"foo=1,bar=2")],
    "64 KiB encoded baggage": [*BASE, (b"baggage", _encoded_members(64 * 1024))],
    "10,000 invalid lane members": [*BASE, (b"baggage", b",".join([b"lane=PR_1!"] * 10_000))],
    "5,000 x-lane-id headers": [*BASE, *[(b"x-lane-id", b"Not-A-Lane")] * 5_000],
    "5,000 baggage headers": [*BASE, *[(b"baggage", b"k=v")] * 5_000],
}


def _joined(headers: Headers) -> Headers:
    """Repeated headers as a WSGI server passes them: one value, joined by commas."""
    joined: dict[bytes, bytes] = {}
    for name, value in headers:
        joined[name] = joined[name] + b"," + value if name in joined else value
    return list(joined.items())


async def _asgi_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    return None


def _wsgi_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return [b""]


def _asgi_runner(counts: dict[str, int]) -> Callable[[str], float]:
    apps = {"bare": _asgi_hello, "lanectx": asgi.LaneMiddleware(_asgi_hello)}
    loop = asyncio.new_event_loop()

    async def calls(app: Any, scope: dict[str, Any], n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            await app(dict(scope), _receive, _send)
        return (time.process_time() - start) / n * 1e6

    def run(case: str) -> float:
        variant, name = case.split(" / ")
        gc.collect()
        return loop.run_until_complete(
            calls(apps[variant], _scope(INPUTS[name]), counts.get(case, 20))
        )

    return run


def _wsgi_runner(counts: dict[str, int]) -> Callable[[str], float]:
    apps = {"bare": _wsgi_hello, "lanectx": wsgi.LaneMiddleware(_wsgi_hello)}
    environs = {name: _environ(_joined(headers)) for name, headers in INPUTS.items()}

    def run(case: str) -> float:
        variant, name = case.split(" / ")
        app, environ, n = apps[variant], environs[name], counts.get(case, 20)
        gc.collect()
        start = time.process_time()
        for _ in range(n):
            app(dict(environ), _start_response)
        return (time.process_time() - start) / n * 1e6

    return run


PAIRS = [(f"bare / {name}", f"lanectx / {name}") for name in INPUTS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds only")
    args = parser.parse_args(argv)
    logging.getLogger("lanectx").setLevel(logging.ERROR)  # the dropped-lane notice
    rounds, slice_s = (2, 0.02) if args.quick else (20, 0.2)
    print(f"In process, middleware called directly: {rounds} rounds of ~{slice_s} s per case,")
    print("each beside the bare app on the same input. lanectx µs: median of per-round")
    print("differences; x normal: that over lanectx's µs on the normal request.")
    print()
    print("| app | input | bare µs | lanectx µs | x normal | target |")
    print("|---|---|---:|---:|---:|---|")
    for kind, make in (("ASGI", _asgi_runner), ("WSGI", _wsgi_runner)):
        counts: dict[str, int] = {}
        runner = make(counts)
        for case in (name for pair in PAIRS for name in pair):
            counts[case] = max(20, int(slice_s / (min(runner(case) for _ in range(3)) * 1e-6)))
        samples = paired(PAIRS, rounds, runner)
        cost = {
            name: statistics.median(
                ours - bare
                for bare, ours in zip(
                    samples[f"bare / {name}"], samples[f"lanectx / {name}"], strict=True
                )
            )
            for name in INPUTS
        }
        normal = max(cost["normal"], 0.01)
        for name in INPUTS:
            bare = statistics.median(samples[f"bare / {name}"])
            times = cost[name] / normal
            target = "" if name == "normal" else f"≤ 10x: {verdict(times <= 10)}"
            print(f"| {kind} | {name} | {bare:.2f} | {cost[name]:.2f} | {times:.1f}x | {target} |")
    print()
    print("The other members are parsed once per request, at its first outgoing call (as")
    print("the client step does it, within the W3C limits); µs for that parse:")
    print()
    print("| input | parse µs |")
    print("|---|---:|")
    for name, headers in INPUTS.items():
        texts = [v.decode("latin-1") for k, v in headers if k == b"baggage"]
        if texts:
            print(f"| {name} | {_parse_time(texts, 20 if args.quick else 2000):.2f} |")
    return 0


def _parse_time(texts: list[str], n: int) -> float:
    """µs to parse *texts* into members, the per-request cache bypassed."""
    parse = _members.__wrapped__  # type: ignore[attr-defined]
    text = capped(texts)
    start = time.process_time()
    for _ in range(n):
        parse(text, "lane")
    return (time.process_time() - start) / n * 1e6


if __name__ == "__main__":
    raise SystemExit(main())
