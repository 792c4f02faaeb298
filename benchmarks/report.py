"""Lane report time: read OTLP/JSON, build the report, write Markdown and HTML.

    python benchmarks/report.py [--quick] [--spans 10000]

The input is a Collector file-exporter file of bookinfo-shaped traces (productpage
-> details, productpage -> reviews -> ratings, six spans each; a third in lane
pr-7, with reviews-pr-7 slower and some failed hops), one export request a line.
Beside the report, in the same rounds, the baseline: ``json.loads`` of every line
(reading the file and nothing else). Target: the whole report of 10,000 spans in
at most 2 s. One warm-up run first: SciPy's import (about 0.5 s) is not timed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _bench import paired, spread, verdict

from lanectx.report import build_report, html_page, markdown, read_files

TARGET_SECONDS = 2.0
SPANS_PER_TRACE = 6


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _line(number: int, rng: random.Random) -> str:
    """One export request: a whole trace, one resource per service version."""
    trace = f"{number:032x}"
    lane = "pr-7" if number % 3 == 0 else None
    shape = [  # (span, parent, service, kind)
        (1, 0, "productpage", 2), (2, 1, "productpage", 3), (3, 2, "details", 2),
        (4, 1, "productpage", 3), (5, 4, "reviews", 2), (6, 5, "ratings", 2),
    ]  # fmt: skip
    resources: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    start = 1_700_000_000_000_000_000 + number * 10_000_000
    for span, parent, service, kind in shape:
        version = lane if service == "reviews" and lane else None
        millis = rng.uniform(1, 3) * (1.5 if version else 1.0)
        attributes = [_attribute("lane.id", lane)] if lane else []
        resources.setdefault((service, version), []).append(
            {
                "traceId": trace,
                "spanId": f"{number * 8 + span:016x}",
                "parentSpanId": f"{number * 8 + parent:016x}" if parent else "",
                "name": f"GET /{service}",
                "kind": kind,
                "startTimeUnixNano": str(start + span * 1000),
                "endTimeUnixNano": str(start + span * 1000 + int(millis * 1e6)),
                "attributes": attributes,
                "status": {"code": 2} if rng.random() < 0.01 else {},
            }
        )
    request = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [_attribute("service.name", service)]
                    + ([_attribute("service.lane", version)] if version else [])
                },
                "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}],
            }
            for (service, version), spans in resources.items()
        ]
    }
    return json.dumps(request, separators=(",", ":"))


def write_input(path: Path, spans: int) -> None:
    """Write a file of about *spans* spans."""
    rng = random.Random(7)
    lines = (_line(n, rng) for n in range(max(-(-spans // SPANS_PER_TRACE), 1)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_case(name: str, path: Path, out: Path) -> float:
    """Return the seconds one run of *name* takes."""
    started = time.perf_counter()
    if name == "json.loads per line":
        with path.open("rb") as handle:
            for line in handle:
                json.loads(line)
    else:
        spans, skipped = read_files([path])
        report = build_report(spans, "pr-7", skipped=skipped)
        (out / "report.md").write_text(markdown(report), encoding="utf-8")
        (out / "report.html").write_text(html_page(report), encoding="utf-8")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 11")
    parser.add_argument("--spans", type=int, default=10_000)
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 11
    with tempfile.TemporaryDirectory(prefix="lanectx-report-bench-") as tmp:
        path, out = Path(tmp) / "traces.jsonl", Path(tmp)
        write_input(path, args.spans)
        base, case = "json.loads per line", "lanectx report (md + html)"
        run_case(case, path, out)  # warm: SciPy's import, the file in the page cache
        samples = paired([(base, case)], rounds, lambda name: run_case(name, path, out))
        spans = len(read_files([path])[0])
        size = path.stat().st_size / 1e6
    ratios = [c / b for b, c in zip(samples[base], samples[case], strict=True)]
    median = statistics.median(samples[case])
    print(f"{spans} spans ({size:.1f} MB of OTLP/JSON), {rounds} paired rounds; seconds.")
    print()
    print("| run | median s | range | x json.loads | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| {base} | {statistics.median(samples[base]):.3f} | {spread(samples[base])} | 1.00 | |")
    print(
        f"| {case} | {median:.3f} | {spread(samples[case])} | {statistics.median(ratios):.2f} "
        f"| ≤ {TARGET_SECONDS:.0f} s for 10,000 spans: {verdict(median <= TARGET_SECONDS)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
