"""Routing scale on a real Envoy: what the number of lanes costs each kind of request.

    python benchmarks/routing_scale.py [--quick] [--lanes 0 10 100 1000]

For each lane count, renders the routes ``lanectx render`` produces for one service
with that many lanes (``pr-1`` .. ``pr-N``) and runs them in one Envoy (one worker,
pinned to core 0). Every subset's cluster points at a second listener of the same
Envoy that answers 200 at once, so no Python backend sits in the path. ``wrk`` (else
``hey``, else a Python loop) pinned to core 1 drives each case for a few seconds, in
interleaved rounds over every lane count:

- (a) stable traffic, no baggage;   (b) stable traffic with unrelated baggage members;
- (c) traffic for the last-listed lane, by ``x-lane-id`` and by baggage ``lane=``.

Ratios are against the same request kind with 0 lanes in the same run (median p50
latency; throughput shown too). Targets at 1000 lanes: (a), (b) ≤ 1.05x; (c) ≤ 1.2x.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _bench import SERVER_CORE, free_port, interleave, load, load_tool, verdict

from lanectx.routing import parse_spec, render
from lanectx.routing.envoy import EnvoyProcess, envoy_config

COMMON = ["host: svc", "x-request-id: 00000000000000000000000000000000"]
KINDS = {
    "(a) no baggage": lambda n: [],
    "(b) other baggage": lambda n: ["baggage: tenant=acme,user=42,session=a1b2c3"],
    "(c) last lane, x-lane-id": lambda n: [f"x-lane-id: pr-{n}"],
    "(c) last lane, baggage": lambda n: [f"baggage: tenant=acme,lane=pr-{n}"],
}
LIMITS = {"(a)": 1.05, "(b)": 1.05, "(c)": 1.2}


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


def envoy_for(lanes: int, workdir: Path) -> EnvoyProcess:
    """Return an Envoy (not started) routing one service with *lanes* lanes."""
    spec = parse_spec(
        {
            "services": {"svc": {"port": 80, "image": "svc:1"}},
            "lanes": {f"pr-{n}": {"svc": f"svc:pr-{n}"} for n in range(1, lanes + 1)},
        }
    )
    port = free_port()
    subsets = ["stable", *(lane.name for lane in spec.lanes)]
    endpoints = {("svc", subset): ("127.0.0.1", port) for subset in subsets}
    config = envoy_config(render(spec), endpoints, route_header=None)
    listeners = config["static_resources"]["listeners"]
    listeners.append(_answering_listener(listeners[0], port))
    return EnvoyProcess(config, workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round, 0 and 10 lanes")
    parser.add_argument("--lanes", type=int, nargs="+")
    args = parser.parse_args(argv)
    counts = args.lanes or ([0, 10] if args.quick else [0, 10, 100, 1000])
    rounds, seconds = (1, 1.0) if args.quick else (5, 3.0)
    results: dict[str, list[tuple[float, float, float]]] = {}
    with ExitStack() as stack:
        ports = {}
        everywhere = os.sched_getaffinity(0)
        for lanes in counts:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            envoy = envoy_for(lanes, workdir)
            os.sched_setaffinity(0, {SERVER_CORE} & everywhere or everywhere)  # Envoy inherits
            try:
                stack.enter_context(envoy)
            finally:
                os.sched_setaffinity(0, everywhere)
            ports[lanes] = envoy.listener_port()

        def run(case: str) -> float:
            lanes, kind = case.split(" / ")
            headers = [*COMMON, *KINDS[kind](max(int(lanes), 1))]
            result = load(f"http://127.0.0.1:{ports[int(lanes)]}/", headers, seconds)
            results.setdefault(case, []).append(result)
            return result[1]

        cases = [f"{lanes} / {kind}" for kind in KINDS for lanes in counts]
        for case in cases:  # warm up
            load(f"http://127.0.0.1:{ports[int(case.split(' / ')[0])]}/", COMMON, 0.5)
        interleave(cases, rounds, run)
    print(f"Envoy, one worker on core {SERVER_CORE}; load by {load_tool()} on the other core,")
    print(f"8 connections, {rounds} interleaved rounds of {seconds:.0f} s per case; medians.")
    print("Ratios: against the same request kind with 0 lanes (p50 latency; throughput).")
    print()
    print("| request | lanes | req/s | p50 ms | p99 ms | p50 ratio | req/s ratio | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for kind in KINDS:
        base = f"{counts[0]} / {kind}"
        base_p50 = statistics.median(r[1] for r in results[base])
        base_rps = statistics.median(r[0] for r in results[base])
        for lanes in counts:
            values = results[f"{lanes} / {kind}"]
            rps = statistics.median(r[0] for r in values)
            p50 = statistics.median(r[1] for r in values)
            p99 = statistics.median(r[2] for r in values)
            limit = LIMITS[kind[:3]]
            target = (
                f"≤ {limit}x: {verdict(p50 / base_p50 <= limit)}" if lanes == max(counts) else ""
            )
            print(
                f"| {kind} | {lanes} | {rps:.0f} | {p50:.3f} | {p99:.3f} "
                f"| {p50 / base_p50:.3f}x | {rps / base_rps:.3f}x | {target} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
