"""Controller round cost: the pure reconcile (`lanectx.controller.plan`) over N Lanes,
beside rendering the same lanes spec alone (`lanectx.routing.render`).

    python benchmarks/controller_scale.py [--quick]

The reconcile checks each Lane on its own against the base spec, renders all of them
together and derives every status, so it is compared with the renderer run on the same
spec in the same round (pairs alternate which goes first). Target: a round over 300
Lanes within 3x the render of the same spec. Then the same Lanes each with two colouring
rules (a header and a percentage), beside the round without them: the rules are parsed,
checked for conflicts and rendered into the gateway filter. Target: within 3x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone
from typing import Any

from _bench import paired, spread, verdict

from lanectx.controller import plan
from lanectx.routing import parse_spec, render

BASE: dict[str, Any] = {
    "namespace": "shop",
    "services": {
        name: {"port": 9080, "image": f"{name}:stable"}
        for name in ("productpage", "details", "reviews", "ratings")
    },
}
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TARGET_RATIO = 3.0
COLOURING_RATIO = 3.0


def lanes(count: int) -> list[dict[str, Any]]:
    """*count* stored Lane objects, each redeploying one or two services."""
    names = list(BASE["services"])
    objects = []
    for number in range(count):
        chosen = names[number % 4 : number % 4 + 1 + number % 2] or names[:1]
        objects.append(
            {
                "apiVersion": "lanectx.dev/v1alpha1",
                "kind": "Lane",
                "metadata": {
                    "name": f"pr-{number}",
                    "namespace": "shop",
                    "uid": f"uid-{number}",
                    "generation": 1,
                    "creationTimestamp": "2026-11-30T00:00:00Z",
                },
                "spec": {
                    "services": [{"name": svc, "image": f"{svc}:pr-{number}"} for svc in chosen],
                    "ttl": "7d",
                },
            }
        )
    return objects


def coloured(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same Lanes, each with a header rule and a 0.1 % share of users of its own."""
    found = []
    for lane in objects:
        name = lane["metadata"]["name"]
        share = {"of": {"header": "x-user-id"}, "value": 0.1, "seed": name}
        rules = [
            {"name": "team", "match": {"header": {"name": "x-team", "exact": name}}},
            {"name": "share", "match": {"percent": share}},
        ]
        found.append({**lane, "spec": {**lane["spec"], "colouring": rules}})
    return found


def spec_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The lanes spec the same Lanes stand for."""
    entries = {
        lane["metadata"]["name"]: {
            "services": {item["name"]: item["image"] for item in lane["spec"]["services"]},
            "ttl": "7d",
        }
        for lane in objects
    }
    return {**BASE, "lanes": entries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    args = parser.parse_args(argv)
    counts = [0, 10, 30] if args.quick else [0, 10, 100, 300]
    rounds = 3 if args.quick else 15
    cases: dict[str, Any] = {}
    for count in counts:
        objects = lanes(count)
        spec = spec_of(objects)
        cases[f"render {count}"] = lambda spec=spec: render(parse_spec(spec), "istio")
        cases[f"plan {count}"] = lambda objects=objects: plan(BASE, objects, [], NOW)
        with_rules = coloured(objects)
        cases[f"coloured {count}"] = lambda objects=with_rules: plan(BASE, objects, [], NOW)

    def run(name: str) -> float:
        started = time.perf_counter()
        cases[name]()
        return (time.perf_counter() - started) * 1e3

    pairs = [(f"render {count}", f"plan {count}") for count in counts]
    samples = paired(pairs, rounds, run)
    print(f"{rounds} rounds; each plan beside a render of the same spec; milliseconds.")
    print()
    print(
        "| lanes | render ms | plan ms | plan range | plan / render (median of rounds) | target |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    worst = 0.0
    for base, case in pairs:
        ratios = [b / a for a, b in zip(samples[base], samples[case], strict=True)]
        ratio = statistics.median(ratios)
        count = int(case.split()[1])
        mark = verdict(ratio <= TARGET_RATIO) if count == counts[-1] else ""
        worst = max(worst, ratio) if count == counts[-1] else worst
        print(
            f"| {count} | {statistics.median(samples[base]):.2f} | "
            f"{statistics.median(samples[case]):.2f} | {spread(samples[case])} | "
            f"{ratio:.2f} | {mark} |"
        )
    print()
    print(f"Target: plan within {TARGET_RATIO:.0f}x render at {counts[-1]} lanes.")
    pairs = [(f"plan {count}", f"coloured {count}") for count in counts]
    samples = paired(pairs, rounds, run)
    print()
    print("| lanes | plan ms | with 2 colouring rules per Lane ms | ratio (median) | target |")
    print("|---:|---:|---:|---:|---|")
    for base, case in pairs:
        ratio = statistics.median(b / a for a, b in zip(samples[base], samples[case], strict=True))
        count = int(case.split()[1])
        mark = verdict(ratio <= COLOURING_RATIO) if count == counts[-1] else ""
        print(
            f"| {count} | {statistics.median(samples[base]):.2f} | "
            f"{statistics.median(samples[case]):.2f} | {ratio:.2f} | {mark} |"
        )
    print()
    print(f"Target: colouring rules within {COLOURING_RATIO:.0f}x at {counts[-1]} lanes.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
