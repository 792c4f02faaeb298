"""lanectx's own cost on hostile requests, beside its cost on a normal one.

    python benchmarks/hostile_input.py [--quick]

The ASGI and WSGI `LaneMiddleware` around a do-nothing app, called directly (no
network), each input timed right beside the same input to the bare app; lanectx's
cost is the difference. A normal request carries ``x-lane-id`` and a two-member
baggage; the hostile ones carry 64 KiB of percent-encoded baggage members (plain,
and with what defeats the one-pass decoding: ``=``, ``%2C`` and lone ``%``), 10,000
invalid lane members, 5,000 repeated ``x-lane-id`` headers or 5,000 ``baggage``
headers (a WSGI server joins repeats into one comma-separated value). Two costs:
the lift alone, and the whole request: the lift plus the app's first outgoing call
(the client step, which passes the request's other baggage members on), with the
per-list caches emptied before every request on both sides, so each request pays
for reading its list as a request with a new list would. Times are process CPU
time; each figure is the median over rounds. Target: the worst input costs lanectx
at most 10x what a normal request does.
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
from lanectx._arrived import request_members
from lanectx._baggage import _encoded
from lanectx._config import active_config
from lanectx._outbound import prepare_request

Headers = list[tuple[bytes, bytes]]


def _encoded_members(size: int, value: bytes = b"%41%42%43%44" * 8) -> bytes:
    member, members, length = b"", [], 0
    index = 0
    while length < size:
        member = b"k%d=" % index + value
        members.append(member)
        length += len(member) + 1
        index += 1
    return b",".join(members)


INPUTS: dict[str, Headers] = {
    "normal": [*BASE, (b"x-lane-id", b"pr-123"), (b"baggage", b"foo=1,bar=2")],
    "64 KiB encoded baggage": [*BASE, (b"baggage", _encoded_members(64 * 1024))],
    # "=", "%2C" and a lone "%" in every value: each defeats one faster way of decoding.
    "64 KiB encoded, commas": [
        *BASE,
        (b"baggage", _encoded_members(64 * 1024, b"%41%2C%43%44" * 7 + b"%4=%2c%%%41")),
    ],
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


def _call(lanectx: bool) -> None:
    """An outgoing call's headers, prepared by lanectx's client step or not at all."""
    request_members.cache_clear()  # each request reads its list as if it were new
    _encoded.cache_clear()
    headers: dict[str, str] = {}
    if lanectx:
        prepare_request(active_config(), "reviews", headers)


async def _asgi_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    return None


async def _asgi_plain_call(scope: dict[str, Any], receive: Any, send: Any) -> None:
    _call(False)


async def _asgi_call(scope: dict[str, Any], receive: Any, send: Any) -> None:
    _call(True)


def _wsgi_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return [b""]


def _wsgi_plain_call(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    _call(False)
    return [b""]


def _wsgi_call(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    _call(True)
    return [b""]


def _asgi_runner(counts: dict[str, int]) -> Callable[[str], float]:
    apps = {
        "bare": _asgi_hello,
        "lanectx": asgi.LaneMiddleware(_asgi_hello),
        "bare + call": _asgi_plain_call,
        "lanectx + call": asgi.LaneMiddleware(_asgi_call),
    }
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
    apps = {
        "bare": _wsgi_hello,
        "lanectx": wsgi.LaneMiddleware(_wsgi_hello),
        "bare + call": _wsgi_plain_call,
        "lanectx + call": wsgi.LaneMiddleware(_wsgi_call),
    }
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


WHAT = {"lift": ("bare", "lanectx"), "lift + first call": ("bare + call", "lanectx + call")}
PAIRS = [
    (f"{base} / {name}", f"{ours} / {name}") for base, ours in WHAT.values() for name in INPUTS
]


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
    print("| app | cost | input | bare µs | lanectx µs | x normal | target |")
    print("|---|---|---|---:|---:|---:|---|")
    for kind, make in (("ASGI", _asgi_runner), ("WSGI", _wsgi_runner)):
        counts: dict[str, int] = {}
        runner = make(counts)
        for case in (name for pair in PAIRS for name in pair):
            counts[case] = max(20, int(slice_s / (min(runner(case) for _ in range(3)) * 1e-6)))
        samples = paired(PAIRS, rounds, runner)
        for what, (base, ours) in WHAT.items():
            _rows(
                kind,
                what,
                {
                    name: (samples[f"{base} / {name}"], samples[f"{ours} / {name}"])
                    for name in INPUTS
                },
            )
    return 0


def _rows(kind: str, what: str, pairs: dict[str, tuple[list[float], list[float]]]) -> None:
    """Print one table block: lanectx's cost per input, against the normal request's."""
    cost = {
        name: statistics.median(ours - bare for bare, ours in zip(*pair, strict=True))
        for name, pair in pairs.items()
    }
    normal = max(cost["normal"], 0.01)
    for name, (bare_samples, _) in pairs.items():
        times = cost[name] / normal
        target = "" if name == "normal" else f"≤ 10x: {verdict(times <= 10)}"
        print(
            f"| {kind} | {what} | {name} | {statistics.median(bare_samples):.2f} "
            f"| {cost[name]:.2f} | {times:.1f}x | {target} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
