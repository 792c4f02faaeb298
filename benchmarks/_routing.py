"""Client routing (``LANECTX_ROUTING=client``) against plain lane instrumentation.

    from _routing import hop_rows, rpc_rows

`hop_rows` times the hop lanectx patches on its own, as client_overhead.py does:
httpx ``Client._send_single_request``, ``requests.Session.send``, urllib's
``AbstractHTTPHandler.do_open`` and urllib3's ``HTTPConnectionPool.urlopen`` (a pool
used directly) replaced by ones answering at once and wrapped by
``lanectx.instrument()``, once in mesh mode (the baseline: lane headers only) and
once in client routing mode; for gRPC the routing channel's per-call choice over a
channel answering at once, against that channel called directly. `rpc_rows` times
whole unary RPCs to a real server on 127.0.0.1 through a channel made by
``lanectx.instrument()`` in each mode. Each with a lane
the map lists (``pr-123``), one it does not (``pr-9``) and no lane. Rounds alternate
the two modes; the map file's reads and checks are counted over the timed calls.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
import requests
import urllib3
from _bench import paired, spread, summary, verdict

import lanectx
from lanectx import LaneConfig
from lanectx._grpc_routing import RoutingChannel
from lanectx.lanemap import _source

__all__ = ["hop_rows", "rpc_rows"]

URL = "http://reviews:9080/"
LANES = {"no lane": None, "mapped lane": "pr-123", "unmapped lane": "pr-9"}
Rows = list[str]


@contextmanager
def _lane_map(endpoints: dict[str, str] | None = None) -> Iterator[str]:
    """A lane map file listing pr-123 for reviews (and *endpoints*); yield its path."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lanes.json"
        lanes: dict[str, Any] = {"services": {"reviews": ["pr-123"]}}
        if endpoints:
            lanes["endpoints"] = {"reviews": endpoints}
        path.write_text(json.dumps(lanes), encoding="utf-8")
        yield str(path)


class _FileAccess:
    """Counts the lane map's reads (open) and change checks (stat) while active."""

    def __init__(self) -> None:
        self.reads = self.checks = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        signature, real_open = _source._signature, open

        def counted_signature(path: str) -> Any:
            self.checks += 1
            return signature(path)

        def counted_open(*args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return real_open(*args, **kwargs)

        _source._signature = counted_signature  # type: ignore[assignment]
        _source.open = counted_open  # type: ignore[attr-defined]
        try:
            yield
        finally:
            _source._signature = signature  # type: ignore[assignment]
            del _source.open  # type: ignore[attr-defined]


def _timed(call: Callable[[], Any], config: LaneConfig, lane: str | None, n: int) -> float:
    """Return process CPU µs per call of *call* (after instrument(*config*)) in *lane*."""
    lanectx.instrument(config)
    try:
        with lanectx.use_lane(lane):
            call()  # the first call loads the map
            start = time.process_time()
            for _ in range(n):
                call()
            return (time.process_time() - start) / n * 1e6
    finally:
        lanectx.uninstrument()


def _http_hops() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """Return client -> one hop through the patched method, and the restore function."""
    client = httpx.Client()
    request = client.build_request("GET", URL)
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("GET", URL))
    answer = requests.Response()
    answer.status_code = 200
    response = httpx.Response(200)
    handler = urllib.request.HTTPHandler()
    handler.add_parent(urllib.request.OpenerDirector())
    opened = handler.do_request_(urllib.request.Request(URL))  # with its Host, as urlopen's
    Pool = urllib3.HTTPConnectionPool
    pool = Pool("reviews", 9080)
    saved = (
        httpx.Client.__dict__["_send_single_request"],
        requests.Session.__dict__["send"],
        urllib.request.AbstractHTTPHandler.__dict__["do_open"],
        Pool.__dict__["urlopen"],
    )
    httpx.Client._send_single_request = lambda self, request, *a, **k: response  # type: ignore[method-assign]
    requests.Session.send = lambda self, request, **kwargs: answer  # type: ignore[method-assign]
    urllib.request.AbstractHTTPHandler.do_open = lambda self, cls, req, **kw: answer  # type: ignore[method-assign]
    Pool.urlopen = lambda self, method, url, *args, **kwargs: answer  # type: ignore[method-assign]

    def restore() -> None:
        httpx.Client._send_single_request = saved[0]  # type: ignore[method-assign]
        requests.Session.send = saved[1]  # type: ignore[method-assign]
        urllib.request.AbstractHTTPHandler.do_open = saved[2]  # type: ignore[method-assign]
        Pool.urlopen = saved[3]  # type: ignore[method-assign]
        pool.close()

    return {
        "httpx": lambda: httpx.Client._send_single_request(client, request),
        "requests": lambda: requests.Session.send(session, prepared),
        "urllib": lambda: handler.do_open(http.client.HTTPConnection, opened),
        "urllib3 pool": lambda: Pool.urlopen(pool, "GET", "/"),
    }, restore


class _Answering:
    """A channel whose every method answers at once (what routing is timed against)."""

    def unary_unary(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return lambda request, **options: request

    def close(self) -> None:
        return None


def _table(samples: dict[str, list[float]], clients: list[str], limit: float) -> Rows:
    median = {case: summary(values)[0] for case, values in samples.items()}
    rows = [
        "| client | lane | lanectx µs/call | client routing µs/call | spread | added µs | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for client in clients:
        for lane in LANES:
            base, ours = median[f"{client} / mesh / {lane}"], median[f"{client} / client / {lane}"]
            added = ours - base
            rows.append(
                f"| {client} | {lane} | {base:.2f} | {ours:.2f} "
                f"| {spread(samples[f'{client} / client / {lane}'])} | {added:+.2f} "
                f"| ≤ +{limit:g} µs: {verdict(added <= limit)} |"
            )
    return rows


def hop_rows(rounds: int, n: int) -> Rows:
    """Return the table of the hop alone: mesh-mode lanectx vs client routing, per lane."""
    access = _FileAccess()
    with _lane_map() as path:
        mesh, client = LaneConfig(lane_map=path), LaneConfig(routing="client", lane_map=path)
        hops, restore = _http_hops()
        routing = RoutingChannel(_Answering(), "reviews:9080", client, lambda *_: _Answering())
        routed_rpc, bare_rpc = routing.unary_unary("/r.R/Get"), _Answering().unary_unary()
        calls: dict[str, dict[str, Callable[[], Any]]] = {
            "httpx": {"mesh": hops["httpx"], "client": hops["httpx"]},
            "requests": {"mesh": hops["requests"], "client": hops["requests"]},
            "urllib": {"mesh": hops["urllib"], "client": hops["urllib"]},
            "urllib3 pool": {"mesh": hops["urllib3 pool"], "client": hops["urllib3 pool"]},
            "grpc": {"mesh": lambda: bare_rpc(b""), "client": lambda: routed_rpc(b"")},
        }
        configs = {"mesh": mesh, "client": client}
        pairs = [
            (f"{c} / mesh / {lane}", f"{c} / client / {lane}") for c in calls for lane in LANES
        ]

        def run(case: str) -> float:
            name, mode, lane = case.split(" / ")
            return _timed(calls[name][mode], configs[mode], LANES[lane], n)

        try:
            with access.counting():
                samples = paired(pairs, rounds, run)
        finally:
            restore()
    calls_made = len(pairs) * 2 * rounds * (n + 1)
    return [
        *_table(samples, list(calls), 2.0),
        "",
        f"Lane map file over {calls_made} calls: {access.reads} reads, {access.checks} change "
        "checks (at most one per 0.5 s; the map is loaded once before the timed calls).",
    ]


def rpc_rows(rounds: int, n: int) -> Rows:
    """Return the table of whole RPCs: a lanectx channel in mesh mode vs client routing."""
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda r, c: r)}
    )
    pool = ThreadPoolExecutor(max_workers=4)
    server = grpc.server(pool, handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    address = f"127.0.0.1:{port}"
    try:
        with _lane_map({"stable": address, "pr-123": address}) as path:
            configs = {
                "mesh": LaneConfig(lane_map=path),
                "client": LaneConfig(routing="client", lane_map=path),
            }
            channels = {}
            for mode, config in configs.items():
                lanectx.instrument(config)
                try:  # mesh mode dials the server itself; client mode names the service
                    target = address if mode == "mesh" else "reviews:9080"
                    channels[mode] = grpc.insecure_channel(target)
                finally:
                    lanectx.uninstrument()
            rpcs = {
                mode: channel.unary_unary("/bench.Echo/Echo") for mode, channel in channels.items()
            }
            pairs = [
                (f"grpc sync / mesh / {lane}", f"grpc sync / client / {lane}") for lane in LANES
            ]

            def run(case: str) -> float:
                _, mode, lane = case.split(" / ")
                with lanectx.use_lane(LANES[lane]):
                    rpcs[mode](b"x" * 32, timeout=10)
                    start = time.process_time()
                    for _ in range(n):
                        rpcs[mode](b"x" * 32, timeout=10)
                    return (time.process_time() - start) / n * 1e6

            samples = paired(pairs, rounds, run)
            for channel in channels.values():
                channel.close()
    finally:
        server.stop(None)
        pool.shutdown(wait=True)
    median = {case: summary(values)[0] for case, values in samples.items()}
    rows = [
        "| lane | lanectx CPU µs/RPC | client routing CPU µs/RPC | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for lane in LANES:
        base, ours = median[f"grpc sync / mesh / {lane}"], median[f"grpc sync / client / {lane}"]
        ratio = ours / base
        rows.append(
            f"| {lane} | {base:.1f} | {ours:.1f} | {ratio:.3f} | ≤ 1.1x: {verdict(ratio <= 1.1)} |"
        )
    return rows
