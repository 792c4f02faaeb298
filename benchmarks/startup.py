"""Startup cost: ``import lanectx`` + ``lanectx.instrument()`` over a bare OpenTelemetry import.

    python benchmarks/startup.py [--quick]

Each sample is a fresh interpreter (``python -c``) that times its own work with
``perf_counter`` and prints it, so interpreter start-up is left out. Variants, run
interleaved: ``import opentelemetry`` (API context + propagate, what any instrumented
app imports), ``import lanectx``, and ``import lanectx; lanectx.instrument()``. The
target (≤ +150 ms over bare OpenTelemetry) is judged on that last row: ``instrument()``
imports no client or framework, it patches each when the application imports it. Two
more rows import the common clients (httpx, requests, urllib3, aiohttp) without and
with lanectx, so the cost of patching them once they are used shows too. Medians and
the range of the samples; the added time is over the bare OpenTelemetry import.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _bench import interleave, spread, verdict

CLIENTS = "import httpx, requests, urllib3, aiohttp"
TIMED = "import time; t = time.perf_counter(); {}; print((time.perf_counter() - t) * 1e3)"
VARIANTS = {
    "import opentelemetry (context, propagate)": (
        "import opentelemetry.context, opentelemetry.propagate"
    ),
    "import lanectx": "import lanectx",
    "import lanectx; instrument()": "import lanectx; lanectx.instrument()",
    "import the clients": f"import opentelemetry.context, opentelemetry.propagate; {CLIENTS}",
    "import lanectx; instrument(); import the clients": (
        f"import lanectx; lanectx.instrument(); {CLIENTS}"
    ),
}
TARGET_ROW, TARGET_MS = "import lanectx; instrument()", 150.0


def sample(code: str) -> float:
    """Return the milliseconds *code* takes in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(code)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few samples only")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 31
    samples = interleave(list(VARIANTS), rounds, lambda name: sample(VARIANTS[name]))
    base = statistics.median(samples[next(iter(VARIANTS))])
    print(f"Fresh interpreters, {rounds} interleaved samples per variant; milliseconds.")
    print()
    print("| variant | median ms | range | added over OTel ms |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {spread(values)} | {median - base:+.1f} |")
    added = statistics.median(samples[TARGET_ROW]) - base
    clients = [statistics.median(samples[name]) for name in list(VARIANTS)[-2:]]
    print()
    print(f"instrument() over bare OpenTelemetry: {added:+.1f} ms, target ≤ +{TARGET_MS:.0f} ms:")
    print(f"{verdict(added <= TARGET_MS)}. Patching the clients once imported: ", end="")
    print(f"{clients[1] - clients[0] - added:+.1f} ms over importing them.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
