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

Each lane count runs at the same time as the 0-lane Envoy, both on core 0, each driven
by its own ``wrk``: the two share the core (and whatever else the machine is doing) for
the same seconds, so their ratio is steady where back-to-back runs on this shared
machine drifted by 10-20 %. Both Envoys are saturated, so time per request is
1 / throughput; the verdict uses that time ratio (the p50 ratio is shown too). An A/A
row, two identical 0-lane Envoys, shows the method's noise floor. Targets at 1000
lanes: (a), (b) ≤ 1.05x; (c) ≤ 1.2x.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import os
import statistics
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _bench import SERVER_CORE, free_port, load, load_tool, verdict

from lanectx.localmesh import EnvoyProcess, envoy_config
from lanectx.routing import LanesSpec, parse_spec, render

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
    rounds, seconds = (1, 1.0) if args.quick else (7, 2.0)
    # (design, kind, lanes) -> per-round (req/s, p50, p99, time ratio, p50 ratio)
    results: dict[tuple[str, str, int], list[tuple[float, ...]]] = {}
    with ExitStack() as stack:
        envoys: dict[tuple[str, int], EnvoyProcess] = {}
        last: dict[int, str] = {}
        everywhere = os.sched_getaffinity(0)

        def started(spec: LanesSpec) -> EnvoyProcess:
            """Start an Envoy for *spec* on the server core (it inherits our affinity)."""
            envoy = envoy_for(spec, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            os.sched_setaffinity(0, {SERVER_CORE} & everywhere or everywhere)
            try:
                return stack.enter_context(envoy)
            finally:
                os.sched_setaffinity(0, everywhere)

        for design in args.design:
            for lanes in counts:
                spec = lanes_spec(lanes, design)
                last[lanes] = spec.lanes[-1].name if spec.lanes else "pr-1"
                envoys[design, lanes] = envoy = started(spec)
                for kind, extra in KINDS.items():
                    expected = last[lanes] if kind.startswith("(c)") and lanes else "stable"
                    served = probe(envoy, [*COMMON, *extra(last[lanes])])
                    if served != expected:
                        raise RuntimeError(f"{design}/{lanes}/{kind}: served by {served}")
                load(f"http://127.0.0.1:{envoy.listener_port()}/", COMMON, 0.5)  # warm up

        # A/A calibration: a second 0-lane Envoy, identical to the first.
        twin = started(lanes_spec(0, args.design[0]))

        def side_by_side(
            base: EnvoyProcess, other: EnvoyProcess, headers: list[str]
        ) -> tuple[float, ...]:
            """Drive both at the same time, on the same core; return other's figures and ratios."""
            with ThreadPoolExecutor(2) as pool:
                runs = [
                    pool.submit(load, f"http://127.0.0.1:{e.listener_port()}/", headers, seconds)
                    for e in (base, other)
                ]
                (base_rps, base_p50, _), (rps, p50, p99) = (run.result() for run in runs)
            return rps, p50, p99, base_rps / rps, p50 / base_p50

        calibration: list[tuple[float, ...]] = []
        for number in range(rounds):
            calibration.append(side_by_side(envoys[args.design[0], counts[0]], twin, COMMON))
            for design in args.design:
                for kind, extra in KINDS.items():
                    shift = number % len(counts[1:] or [0])
                    for lanes in counts[1:][shift:] + counts[1:][:shift]:
                        # Each lane count beside the 0-lane baseline, which gets the same
                        # headers (for (c), a lane it does not have: stable).
                        base, envoy = envoys[design, counts[0]], envoys[design, lanes]
                        headers = [*COMMON, *extra(last[lanes])]
                        results.setdefault((design, kind, lanes), []).append(
                            side_by_side(base, envoy, headers)
                        )
    print(
        f"Envoy, one worker each, on core {SERVER_CORE}; load by {load_tool()} on the other core,"
    )
    print(
        f"8 connections per Envoy; {rounds} rounds of {seconds:.0f} s. Each lane count runs at the"
    )
    print(f"same time as the {counts[0]}-lane Envoy, both on core {SERVER_CORE} (so req/s is about")
    print("half of one Envoy's alone): whatever else the machine does hits both alike. Both are")
    print("saturated, so the time per request is 1 / throughput: time ratio = the 0-lane")
    print("Envoy's req/s / this one's, the verdict's measure (p50 latency of two processes")
    print("sharing a core varies more; its ratio is shown too). Medians of the per-round ratios.")
    print("Every request kind was probed first and landed where it should.")
    print()
    print(
        "| design | request | lanes | req/s | p50 ms | p99 ms | time ratio | range "
        "| p50 ratio | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")

    def row(label: str, values: list[tuple[float, ...]], target: str) -> str:
        rps, p50, p99, time_ratio, p50_ratio = (
            statistics.median(v[i] for v in values) for i in range(5)
        )
        low, high = min(v[3] for v in values), max(v[3] for v in values)
        return (
            f"| {label} | {rps:.0f} | {p50:.3f} | {p99:.3f} | {time_ratio:.3f}x "
            f"| {low:.2f}-{high:.2f} | {p50_ratio:.3f}x | {target} |"
        )

    print(row(f"A/A | two identical Envoys | {counts[0]}", calibration, "(noise floor)"))
    for design in args.design:
        for kind in KINDS:
            for lanes in counts[1:]:
                values = results[design, kind, lanes]
                limit = LIMITS[kind[:3]]
                time_ratio = statistics.median(v[3] for v in values)
                target = (
                    f"≤ {limit}x: {verdict(time_ratio <= limit)}" if lanes == max(counts) else ""
                )
                print(row(f"{design} | {kind} | {lanes}", values, target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
