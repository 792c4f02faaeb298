"""Routing scale on a real Envoy: what the number of lanes costs each kind of request.

    python benchmarks/routing_scale.py [--quick] [--lanes 0 10 100 1000] [--design routes table]

For each lane count and each lane routing design (``laneRouting: routes``, one mesh
route per lane and header source; ``laneRouting: table``, one route whose cluster a Lua
table lookup picks), renders what ``lanectx render`` produces for one service with that
many lanes (``pr-1`` .. ``pr-N``) and runs it in one Envoy (one worker, pinned to core
0). Every subset's cluster points at a second listener of the same Envoy that answers
200 at once, so no Python backend sits in the path. ``wrk`` (else ``hey``, else a
Python loop) pinned to core 1 drives each case for a few seconds:

- (a) stable traffic, no baggage;   (b) stable traffic with unrelated baggage members;
- (c) traffic for the last-listed lane (lanes are sorted by name, so for 1000 lanes that
  is ``pr-999``), by ``x-lane-id`` and by baggage ``lane=``.

Before any load, one probe request per case checks (from Envoy's cluster counters) that
it lands where it should: stable for (a) and (b), the lane's cluster for (c). Any
response other than 2xx aborts the run.

Rounds are interleaved: in each round every lane count of a (design, request) runs back
to back, and the round's ratio is against the 0-lane run of that round. Reported: the
median of those per-round ratios of p50 latency and of throughput. Targets at 1000
lanes: (a), (b) ≤ 1.05x; (c) ≤ 1.2x (p50 latency).
"""

from __future__ import annotations

import argparse
import copy
import http.client
import os
import statistics
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _bench import SERVER_CORE, free_port, load, load_tool, verdict

from lanectx.routing import LanesSpec, parse_spec, render
from lanectx.routing.envoy import EnvoyProcess, envoy_config

DESIGNS = ("routes", "table")
COMMON = ["Host: svc", "x-request-id: 00000000000000000000000000000000"]
KINDS: dict[str, Callable[[str], list[str]]] = {
    "(a) no baggage": lambda lane: [],
    "(b) other baggage": lambda lane: ["baggage: tenant=acme,user=42,session=a1b2c3"],
    "(c) last lane, x-lane-id": lambda lane: [f"x-lane-id: {lane}"],
    "(c) last lane, baggage": lambda lane: [f"baggage: tenant=acme,lane={lane}"],
}
LIMITS = {"(a)": 1.05, "(b)": 1.05, "(c)": 1.2}


def lanes_spec(lanes: int, design: str) -> LanesSpec:
    """Return the spec of one service ``svc`` with lanes ``pr-1`` .. ``pr-<lanes>``."""
    return parse_spec(
        {
            "laneRouting": design,
            "services": {"svc": {"port": 80, "image": "svc:1"}},
            "lanes": {f"pr-{n}": {"svc": f"svc:pr-{n}"} for n in range(1, lanes + 1)},
        }
    )


def _answering_listener(template: dict[str, Any], port: int) -> dict[str, Any]:
    """Return a listener like *template* on *port* that answers every request with 200."""
    listener = copy.deepcopy(template)
    listener["name"] = "backend"
    listener["address"]["socket_address"]["port_value"] = port
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    manager["stat_prefix"] = "backend"
    manager["http_filters"] = manager["http_filters"][-1:]  # the router only
    route = {
        "match": {"prefix": "/"},
        "direct_response": {"status": 200, "body": {"inline_string": "ok"}},
    }
    manager["route_config"] = {
        "name": "backend",
        "virtual_hosts": [{"name": "backend", "domains": ["*"], "routes": [route]}],
    }
    return listener


def envoy_for(spec: LanesSpec, workdir: Path) -> EnvoyProcess:
    """Return an Envoy (not started) routing *spec*'s one service."""
    port = free_port()
    subsets = ["stable", *(lane.name for lane in spec.lanes)]
    endpoints = {("svc", subset): ("127.0.0.1", port) for subset in subsets}
    config = envoy_config(render(spec), endpoints, route_header=None)
    listeners = config["static_resources"]["listeners"]
    listeners.append(_answering_listener(listeners[0], port))
    return EnvoyProcess(config, workdir)


def _counters(envoy: EnvoyProcess) -> dict[str, int]:
    text = envoy.admin("/stats?filter=upstream_rq_total")
    pairs = (line.rsplit(": ", 1) for line in text.splitlines() if ": " in line)
    return {name: int(value) for name, value in pairs}


def probe(envoy: EnvoyProcess, headers: list[str]) -> str:
    """Send one request with *headers*; return the subset whose cluster served it."""
    before = _counters(envoy)
    connection = http.client.HTTPConnection("127.0.0.1", envoy.listener_port(), timeout=5)
    try:
        connection.putrequest("GET", "/", skip_host=True)
        for header in headers:
            name, value = header.split(": ", 1)
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"probe {headers}: status {response.status}")
    (served,) = [name for name, value in _counters(envoy).items() if value != before.get(name)]
    return served.split("|")[2]  # cluster.outbound|80|<subset>|svc...upstream_rq_total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round, 0 and 10 lanes")
    parser.add_argument("--lanes", type=int, nargs="+")
    parser.add_argument("--design", nargs="+", choices=DESIGNS, default=list(DESIGNS))
    args = parser.parse_args(argv)
    counts = sorted(set(args.lanes or ([0, 10] if args.quick else [0, 10, 100, 1000])))
    rounds, seconds = (1, 1.0) if args.quick else (5, 2.0)
    # (design, kind, lanes) -> per-round (req/s, p50, p99, p50 ratio, req/s ratio)
    results: dict[tuple[str, str, int], list[tuple[float, ...]]] = {}
    with ExitStack() as stack:
        envoys: dict[tuple[str, int], EnvoyProcess] = {}
        last: dict[int, str] = {}
        everywhere = os.sched_getaffinity(0)
        for design in args.design:
            for lanes in counts:
                spec = lanes_spec(lanes, design)
                last[lanes] = spec.lanes[-1].name if spec.lanes else "pr-1"
                envoy = envoy_for(spec, Path(stack.enter_context(tempfile.TemporaryDirectory())))
                os.sched_setaffinity(0, {SERVER_CORE} & everywhere or everywhere)  # inherited
                try:
                    stack.enter_context(envoy)
                finally:
                    os.sched_setaffinity(0, everywhere)
                envoys[design, lanes] = envoy
                for kind, extra in KINDS.items():
                    expected = last[lanes] if kind.startswith("(c)") and lanes else "stable"
                    served = probe(envoy, [*COMMON, *extra(last[lanes])])
                    if served != expected:
                        raise RuntimeError(f"{design}/{lanes}/{kind}: served by {served}")
                load(f"http://127.0.0.1:{envoy.listener_port()}/", COMMON, 0.5)  # warm up

        for number in range(rounds):
            for design in args.design:
                for kind, extra in KINDS.items():
                    shift = number % len(counts)
                    runs = {}
                    for lanes in counts[shift:] + counts[:shift]:
                        url = f"http://127.0.0.1:{envoys[design, lanes].listener_port()}/"
                        runs[lanes] = load(url, [*COMMON, *extra(last[lanes])], seconds)
                    base = runs[counts[0]]
                    for lanes, (rps, p50, p99) in runs.items():
                        ratios = (p50 / base[1], rps / base[0])
                        results.setdefault((design, kind, lanes), []).append(
                            (rps, p50, p99, *ratios)
                        )
    print(f"Envoy, one worker on core {SERVER_CORE}; load by {load_tool()} on the other core,")
    print(f"8 connections; {rounds} rounds of {seconds:.0f} s per case, every lane count of a")
    print("request back to back in each round. Ratios: median over rounds of the round's ratio")
    print(f"against {counts[0]} lanes (p50 latency; throughput). Envoy's one worker is saturated,")
    print("so p50 latency is about 8 connections / throughput. Every probe landed as expected.")
    print()
    print(
        "| design | request | lanes | req/s | p50 ms | p99 ms | p50 ratio | req/s ratio | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for design in args.design:
        for kind in KINDS:
            for lanes in counts:
                values = results[design, kind, lanes]
                rps, p50, p99, p50_ratio, rps_ratio = (
                    statistics.median(v[i] for v in values) for i in range(5)
                )
                limit = LIMITS[kind[:3]]
                target = ""
                if lanes == max(counts) and lanes:
                    target = f"≤ {limit}x: {verdict(p50_ratio <= limit)}"
                print(
                    f"| {design} | {kind} | {lanes} | {rps:.0f} | {p50:.3f} | {p99:.3f} "
                    f"| {p50_ratio:.3f}x | {rps_ratio:.3f}x | {target} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
