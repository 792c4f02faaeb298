"""Per-call client cost of outbound lane injection: every patched client, in process.

    python benchmarks/client_overhead.py [--quick]

httpx (sync client on a `MockTransport`) and requests (a `Session` with an adapter
that answers at once) send a GET to ``http://reviews:9080/`` with no network, so the
client's own work is what is timed. For gRPC, the sync and aio client interceptors
are called with a continuation that returns at once, against a do-nothing interceptor
(gRPC's own interceptor machinery is measured by ``grpc_overhead.py``). Each client runs
uninstrumented and with ``lanectx.instrument()`` (toggled between rounds), with no lane
current and with lane ``pr-123``; rounds are interleaved. Times are process CPU µs per
call, median of rounds. Target: ≤ +1.5 µs per call over the uninstrumented client.

A whole httpx or requests call costs 150-500 µs here and varies by several µs from
round to round, more than the target itself. So a second table times the hop lanectx
patches on its own: the patched method (httpx ``Client._send_single_request``,
``requests.Session.send``, urllib3 ``HTTPConnectionPool.urlopen`` and
``PoolManager.urlopen``, urllib
``AbstractHTTPHandler.do_open``, aiohttp ``ClientRequest.send``) is first replaced by one
that answers at once, then ``lanectx.instrument()`` wraps it exactly as it wraps the
real one, and one prepared request (its headers put back as built before each call)
is sent through the wrapper and through the bare
method (the aiohttp coroutine is stepped by hand, with no event loop). That difference
is lanectx's work per call, and the verdict: ≤ +1.5 µs with no lane, ≤ +3 µs with one.
A third table times client routing (``LANECTX_ROUTING=client``) the same way against
lanectx in mesh mode, for a lane the map lists, one it does not and no lane (target
≤ +2 µs, no file read per call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import grpc
import httpx
import requests
import urllib3
from _bench import interleave, spread, summary, verdict
from _routing import hop_rows
from opentelemetry import context
from requests.adapters import BaseAdapter
from yarl import URL as YarlURL

import lanectx
from lanectx import LaneConfig
from lanectx._server import request_context
from lanectx.grpc import LaneClientInterceptor, async_client_interceptors

URL = "http://reviews:9080/"
LANES = {"no lane": None, "lane": "pr-123", "lane + request baggage": "pr-123 foo=1,bar=2"}


@contextlib.contextmanager
def _current(lane: str | None) -> Iterator[None]:
    """Run the block as a handler would: with *lane* (and the baggage its request brought)."""
    if lane is None:  # nothing attached, as in a request the lift found no lane in
        yield
        return
    lane, _, sent = lane.partition(" ")
    ctx = request_context(LaneConfig(), lane, True, [sent] if sent else None)
    token = context.attach(ctx) if ctx is not None else None
    try:
        yield
    finally:
        if token is not None:
            context.detach(token)


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


def _hops() -> tuple[dict[str, tuple[Callable[[], Any], Callable[[], Any]]], Callable[[], None]]:
    """Return (client -> (bare hop, hop as patched), restore): one hop on a prepared request.

    The real hop methods are replaced by ones answering at once; call restore after.
    Each call starts from the request as built (its headers put back first, on both
    sides), so no call sees the lane headers an earlier one set.
    """
    client = httpx.Client()
    request = client.build_request("GET", URL)
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("GET", URL))
    answer = requests.Response()
    answer.status_code = 200
    response = httpx.Response(200)
    hop_name = "_send_single_request"
    pool = urllib3.HTTPConnectionPool("reviews", 9080)
    manager = urllib3.PoolManager()
    pool_headers = {"user-agent": "bench", "accept": "*/*"}
    url_request = urllib.request.Request(URL)
    url_handler = urllib.request.HTTPHandler()
    loop = asyncio.new_event_loop()
    aio_request = aiohttp.ClientRequest("GET", YarlURL(URL), loop=loop)
    saved = [
        (httpx.Client, hop_name),
        (requests.Session, "send"),
        (urllib3.HTTPConnectionPool, "urlopen"),
        (urllib3.PoolManager, "urlopen"),
        (urllib.request.AbstractHTTPHandler, "do_open"),
        (aiohttp.ClientRequest, "send"),
    ]
    originals = [owner.__dict__[name] for owner, name in saved]

    built = request.headers.copy(), prepared.headers.copy(), aio_request.headers.copy()

    def fresh_httpx() -> Any:
        request.headers = built[0].copy()
        return request

    def fresh_requests() -> Any:
        prepared.headers = built[1].copy()
        return prepared

    def fresh_aiohttp() -> Any:
        aio_request.headers = built[2].copy()
        return aio_request

    def httpx_hop(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        return response

    def requests_hop(self: Any, request: Any, **kwargs: Any) -> Any:
        return answer

    def urllib3_hop(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return answer

    def urllib_hop(self: Any, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return answer

    async def aiohttp_hop(self: Any, conn: Any) -> Any:
        return answer

    for (owner, name), hop in zip(
        saved,
        (httpx_hop, requests_hop, urllib3_hop, urllib3_hop, urllib_hop, aiohttp_hop),
        strict=True,
    ):
        setattr(owner, name, hop)

    def restore() -> None:
        for (owner, name), original in zip(saved, originals, strict=True):
            setattr(owner, name, original)
        loop.close()

    def stepped(coroutine: Any) -> Any:
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise RuntimeError("the hop suspended")

    hops = {
        "httpx": (
            lambda: httpx_hop(client, fresh_httpx()),
            lambda: getattr(httpx.Client, hop_name)(client, fresh_httpx()),
        ),
        "requests": (
            lambda: requests_hop(session, fresh_requests()),
            lambda: requests.Session.send(session, fresh_requests()),
        ),
        "urllib3": (
            lambda: urllib3_hop(pool, "GET", "/", None, pool_headers),
            lambda: urllib3.HTTPConnectionPool.urlopen(pool, "GET", "/", None, pool_headers),
        ),
        "urllib3 PoolManager": (
            lambda: urllib3_hop(manager, "GET", URL, headers=pool_headers),
            lambda: urllib3.PoolManager.urlopen(manager, "GET", URL, headers=pool_headers),
        ),
        "urllib": (
            lambda: urllib_hop(url_handler, None, url_request),
            lambda: urllib.request.AbstractHTTPHandler.do_open(url_handler, None, url_request),
        ),
        "aiohttp": (
            lambda: stepped(aiohttp_hop(fresh_aiohttp(), None)),
            lambda: stepped(aiohttp.ClientRequest.send(fresh_aiohttp(), None)),
        ),
    }
    return hops, restore


def _timed(call: Callable[[], Any], which: str, lane: str | None, n: int) -> float:
    """Return process CPU µs per call of *call*, run *n* times with *lane* current."""
    if which == "lanectx":
        lanectx.instrument()
    try:
        with _current(lane):
            start = time.process_time()
            for _ in range(n):
                call()
            return (time.process_time() - start) / n * 1e6
    finally:
        lanectx.uninstrument()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds only")
    parser.add_argument("--hops", action="store_true", help="the hop-alone table only")
    args = parser.parse_args(argv)
    rounds, slice_s = (3, 0.02) if args.quick else (15, 0.15)
    if args.hops:
        _hop_table(rounds, 2000 if args.quick else 20000)
        return 0
    callers = _callers()
    cases = [f"{c} / {w} / {lane}" for c in callers for w in ("plain", "lanectx") for lane in LANES]

    counts: dict[str, int] = {}

    def run(case: str) -> float:
        client, which, lane = case.split(" / ")
        call = callers[client][which == "lanectx"]
        return _timed(call, which, LANES[lane], counts.get(client, 20))

    for case in cases:  # warm up, then size each client's rounds to the time slice
        per_call = min(run(case) for _ in range(3))
        client = case.split(" / ")[0]
        counts[client] = min(counts.get(client, 10**9), max(int(slice_s / (per_call * 1e-6)), 20))
    samples = interleave(cases, rounds, run)
    hop_n = 2000 if args.quick else 20000

    print(f"Outbound calls in process: {rounds} interleaved rounds per case; process CPU time.")
    print("Whole calls: httpx on a MockTransport, requests on an adapter answering at once;")
    print("gRPC rows time the interceptor alone (plain = a do-nothing interceptor).")
    print()
    _table(samples, list(callers), verdict_here=("grpc sync", "grpc aio"))
    print()
    _hop_table(rounds, hop_n)
    print()
    print("Client routing (LANECTX_ROUTING=client), the hop alone as above; the baseline is")
    print("lanectx in mesh mode; gRPC: the routing channel's choice over a channel answering")
    print("at once, against that channel called directly:")
    print()
    print("\n".join(hop_rows(rounds, hop_n)))
    return 0


def _hop_table(rounds: int, hop_n: int) -> None:
    """Time and print the patched hop alone, plain against lanectx."""
    hops, restore = _hops()
    try:
        hop_cases = [
            f"{c} / {w} / {lane}" for c in hops for w in ("plain", "lanectx") for lane in LANES
        ]

        def run_hop(case: str) -> float:
            client, which, lane = case.split(" / ")
            return _timed(hops[client][which == "lanectx"], which, LANES[lane], hop_n)

        hop_samples = interleave(hop_cases, rounds, run_hop)
    finally:
        restore()
    print(f"The patched hop alone, {hop_n} calls per round on one prepared request,")
    print("its headers as built before each call; plain = the same hop unpatched (and")
    print("the same reset). This is lanectx's work per call:")
    print()
    _table(hop_samples, list(hops), verdict_here=tuple(hops))


def _table(
    samples: dict[str, list[float]], clients: list[str], verdict_here: tuple[str, ...]
) -> None:
    """Print one table of plain vs lanectx per client and lane; verdicts where they apply."""
    median = {case: summary(values)[0] for case, values in samples.items()}
    print(
        "| client | lane current | plain µs/call | lanectx µs/call | spread | added µs | target |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for client in clients:
        for lane in LANES:
            plain = median[f"{client} / plain / {lane}"]
            ours = median[f"{client} / lanectx / {lane}"]
            added = ours - plain
            limit = 1.5 if LANES[lane] is None else 3.0
            target = (
                f"≤ +{limit:g} µs: {verdict(added <= limit)}"
                if client in verdict_here
                else "see the hop table"
            )
            print(
                f"| {client} | {lane} | {plain:.2f} | {ours:.2f} "
                f"| {spread(samples[f'{client} / lanectx / {lane}'])} | {added:+.2f} | {target} |"
            )


if __name__ == "__main__":
    raise SystemExit(main())
