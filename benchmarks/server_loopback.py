"""Per-request server cost over loopback: uvicorn serving each stack, driven by wrk.

    python benchmarks/server_loopback.py [--quick]

Starts one uvicorn process per stack (see ``_apps.py``: bare Starlette hello, lanectx
lift only, OTel only, OTel + lanectx) on 127.0.0.1, all pinned to core 0, and drives
them one at a time with ``wrk`` (else ``hey``, else a Python loop) pinned to core 1,
for a few seconds per run, with ``x-lane-id: pr-123`` and without a lane. Each round
runs every stack with lanectx right beside the same stack without it (alternating which
goes first); the table gives the median requests/s of the rounds, their range, the
median p50/p99 latency, and the median over rounds of the ratio of each round's pair.
Targets: lift ≥ 0.97x bare; OTel + lanectx ≥ 0.95x OTel alone.
Every server started here is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _bench import (
    SERVER_CORE,
    free_port,
    load,
    load_tool,
    paired,
    pinned,
    stop,
    verdict,
    wait_for_port,
)

VARIANTS = ("bare", "lift", "otel", "otel+lanectx")
HEADERS = {"no lane": [], "x-lane-id": ["x-lane-id: pr-123"]}
TARGETS = {"lift": ("bare", 0.97), "otel+lanectx": ("otel", 0.95)}


def serve(variant: str, port: int) -> None:
    """Serve *variant* on 127.0.0.1:*port* until terminated."""
    import uvicorn
    from _apps import asgi_app, lanectx_on

    lanectx_on(variant)
    uvicorn.run(
        asgi_app(variant), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round only")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    rounds, seconds = (1, 1.0) if args.quick else (8, 2.0)
    ports: dict[str, int] = {}
    servers = []
    try:
        for variant in VARIANTS:
            ports[variant] = free_port()
            command = [sys.executable, __file__, "--serve", variant, "--port", str(ports[variant])]
            servers.append(subprocess.Popen(pinned(SERVER_CORE, command)))
        for port in ports.values():
            wait_for_port(port)
        results: dict[str, list[tuple[float, float, float]]] = {}

        def run(case: str) -> float:
            variant, lane = case.split(" / ")
            url = f"http://127.0.0.1:{ports[variant]}/"
            result = load(url, HEADERS[lane], seconds)
            results.setdefault(case, []).append(result)
            return result[0]

        pairs = [
            (f"{base} / {lane}", f"{variant} / {lane}")
            for variant, (base, _) in TARGETS.items()
            for lane in HEADERS
        ]
        cases = [f"{variant} / {lane}" for variant in VARIANTS for lane in HEADERS]
        for case in cases:  # warm up
            load(
                f"http://127.0.0.1:{ports[case.split(' / ')[0]]}/", HEADERS[case.split(" / ")[1]], 1
            )
        rps = paired(pairs, rounds, run)
    finally:
        for server in servers:
            stop(server)
    print(f"uvicorn on 127.0.0.1 (core {SERVER_CORE}), load by {load_tool()} (other core),")
    print(f"8 connections, {rounds} rounds of {seconds:.0f} s per case, each stack with lanectx")
    print("beside the same stack without it; medians, ratios: median of per-round ratios.")
    print()
    print("| stack | request | req/s | range | p50 ms | p99 ms | ratio | target |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    medians = {case: statistics.median(values) for case, values in rps.items()}
    for case in cases:
        values = rps[case]
        variant, lane = case.split(" / ")
        p50 = statistics.median(r[1] for r in results[case])
        p99 = statistics.median(r[2] for r in results[case])
        ratio = target = ""
        if variant in TARGETS:
            base, minimum = TARGETS[variant]
            pair = zip(values, rps[f"{base} / {lane}"], strict=True)
            value = statistics.median(ours / theirs for ours, theirs in pair)
            ratio, target = f"{value:.3f}x", f"≥ {minimum}x {base}: {verdict(value >= minimum)}"
        print(
            f"| {variant} | {lane} | {medians[case]:.0f} | {min(values):.0f}-{max(values):.0f} "
            f"| {p50:.2f} | {p99:.2f} | {ratio} | {target} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
