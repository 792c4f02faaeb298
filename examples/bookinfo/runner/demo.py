"""``run.py demo``: start the default lanes, send every case, print what served it, check.

Prints a table (request -> version per service), the trace of each lane request as
received over OTLP, then stops one lane version to show fault isolation, and writes
each lane's hop report (``lanectx report``: Markdown and HTML) under the run
directory. Returns 0 only if every row is as expected.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lanectx.report import build_report, html_page, markdown, read_files
from runner.cases import DEFAULT_LANES, SERVICES, Answer, Case, cases, fetch
from runner.events import NOTIFIER_LANES, EventHop
from runner.otlp import OtlpReceiver, ReceivedSpan
from runner.stack import Stack, free_port

__all__ = ["run_demo"]

_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
FAULT_REQUESTS = 20
SAMPLE_REQUESTS = 25  # per lane and without one: enough for the report's lane/stable test


def _cell(got: str | None, want: str) -> str:
    return got or "-" if got == want else f"{got or '-'} (want {want})!"


def _row(case: Case, answer: Answer) -> tuple[bool, str]:
    ok = answer.status == 200 and answer.served_by == case.expected
    ok = ok and answer.body.get("lane") == case.lane
    cells = [_cell(answer.served_by.get(s), case.expected[s]) for s in SERVICES]
    status = "ok" if ok else f"FAIL (HTTP {answer.status}, lane {answer.body.get('lane')})"
    return ok, f"{case.label:<26}" + "".join(f"{c:<14}" for c in cells) + status


def _tree(spans: Sequence[ReceivedSpan]) -> list[tuple[int, ReceivedSpan]]:
    """Return (depth, span) in tree order: each span followed by its children, by start."""
    ids = {span.span_id for span in spans}
    children: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        children.setdefault(span.parent_id if span.parent_id in ids else "", []).append(span)
    ordered: list[tuple[int, ReceivedSpan]] = []

    def walk(parent: str, depth: int) -> None:
        for child in sorted(children.get(parent, []), key=lambda s: s.start):
            ordered.append((depth, child))
            walk(child.span_id, depth + 1)

    walk("", 0)
    return ordered


def _trace_lines(spans: Sequence[ReceivedSpan], lane: str) -> tuple[bool, list[str]]:
    """Lines of one trace, children under parents; False if a span lacks the lane."""
    lines, ok = [], bool(spans)
    for depth, span in _tree(spans):
        right = span.lane_id == lane
        ok = ok and right
        mark = "  <- fallback hop" if span.fallback else ""
        lines.append(
            f"    {'  ' * depth}{span.service:<12} {_KINDS.get(span.kind, '?'):<7} "
            f"service.lane={span.service_lane or '-':<7} lane.id={span.lane_id or '-'}"
            f"{'' if right else ' (want ' + lane + ')!'}{mark}  {span.name}"
        )
    return ok, lines


def _requests_table(port: int, receiver: OtlpReceiver) -> bool:
    ok = True
    print(f"{'request':<26}" + "".join(f"{s:<14}" for s in SERVICES) + "result")
    traced: list[tuple[Case, Answer]] = []
    for case in cases(DEFAULT_LANES):
        answer = fetch(port, case.headers)
        row_ok, line = _row(case, answer)
        ok = ok and row_ok
        print(line)
        if case.lane is not None:
            traced.append((case, answer))
    page = fetch(port, (("x-pr-id", "31"),), path="/productpage")
    html = page.body.get("html", "")
    page_ok = page.status == 200 and "reviews: pr-31" in html and "details: stable" in html
    page_ok = page_ok and page.headers.get("x-lane-served") == "stable"
    print(f"\nHTML /productpage with x-pr-id: 31 names the versions: {'ok' if page_ok else 'FAIL'}")
    print("\nTraces of the lane requests (received over OTLP):")
    for case, answer in traced:
        assert case.lane is not None
        spans = receiver.wait_for(answer.trace_id, set(SERVICES))
        trace_ok, lines = _trace_lines(spans, case.lane)
        ok = ok and trace_ok
        print(f"  {case.label}: trace {answer.trace_id} {'ok' if trace_ok else 'FAIL'}")
        print("\n".join(lines))
    return ok and page_ok


def _events_table(events: EventHop, published: int) -> bool:
    """Print which notifier version handled each lane's "review viewed" events."""
    if not events.available:
        print("\nAsync hop skipped: redis-server is not installed (scripts/bootstrap.sh adds it)")
        return True
    handled = events.wait(published)
    print(f"\nAsync hop: reviews -> notifier (Celery on redis); notifier lanes: {NOTIFIER_LANES}")
    print(f"  {'event lane':<12}{'events':<8}{'handled by':<14}{'expected':<10}result")
    ok = len(handled) == published and len({e["event"] for e in handled}) == len(handled)
    by_lane: dict[str, list[str]] = {}
    for event in handled:
        by_lane.setdefault(event["lane"] or "-", []).append(event["handled_by"])
    for lane, versions in sorted(by_lane.items()):
        want = lane if lane in NOTIFIER_LANES else "stable"
        row_ok = set(versions) == {want}
        ok = ok and row_ok
        note = "ok" if row_ok else "FAIL"
        if row_ok and want == "stable" and lane != "-":
            note = "ok (fallback: no notifier in this lane)"
        print(
            f"  {lane:<12}{len(versions):<8}{'+'.join(sorted(set(versions))):<14}{want:<10}{note}"
        )
    print(f"  {len(handled)} of {published} events handled, each once: {'ok' if ok else 'FAIL'}")
    return ok


def _fault_isolation(stack: Stack) -> bool:
    broken = "reviews-pr-314"
    child = stack.version(broken).child
    assert child is not None
    child.stop()
    print(f"\nFault isolation: {broken} stopped; {FAULT_REQUESTS} requests each")
    ok = True
    for label, headers, broken_lane in (
        ("no lane", (), False),
        ("pr-31", (("x-pr-id", "31"),), False),
        ("pr-7", (("x-lane-id", "pr-7"),), False),
        ("pr-314 (broken)", (("x-pr-id", "314"),), True),
    ):
        answers = [fetch(stack.port, headers) for _ in range(FAULT_REQUESTS)]
        good = sum(a.status == 200 for a in answers)
        slowest = max(a.seconds for a in answers) * 1000
        if broken_lane:
            clean = all(a.status == 503 and a.body.get("service") == "reviews" for a in answers)
            row_ok = clean and slowest < 1000
            note = f"503 naming reviews: {'all' if clean else 'NOT all'}"
        else:
            row_ok = good == FAULT_REQUESTS
            note = f"{good / FAULT_REQUESTS:.0%} succeeded"
        ok = ok and row_ok
        print(f"  {label:<18} {note:<28} slowest {slowest:6.1f} ms  {'ok' if row_ok else 'FAIL'}")
    return ok


def _sample_traffic(port: int) -> bool:
    """Send SAMPLE_REQUESTS without a lane and in each lane; True if all succeeded."""
    lanes: list[tuple[tuple[str, str], ...]] = [()]
    lanes += [(("x-lane-id", lane),) for lane in DEFAULT_LANES]
    answers = [fetch(port, headers) for _ in range(SAMPLE_REQUESTS) for headers in lanes]
    good = sum(a.status == 200 for a in answers)
    print(f"\nSample traffic: {good}/{len(answers)} requests succeeded")
    return good == len(answers)


def _write_reports(receiver: OtlpReceiver, report_dir: Path) -> bool:
    """Write each lane's report (report.md, report.html) under *report_dir*."""
    time.sleep(0.5)  # the services export every 100 ms
    spans, skipped = read_files([receiver.output])
    ok = True
    print(f"\nLane reports ({len(spans)} spans from {receiver.output}):")
    for lane in DEFAULT_LANES:
        report = build_report(spans, lane, skipped=skipped)
        out = report_dir / lane
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(markdown(report), encoding="utf-8")
        (out / "report.html").write_text(html_page(report), encoding="utf-8")
        totals = report.totals
        ok = ok and bool(report.traces) and totals["hit"] > 0
        print(
            f"  {lane:<7} {len(report.traces):>3} traces, hit {totals['hit']}, "
            f"fallback {totals['fallback']}, lost {totals['lost']}, failed {report.errors}: "
            f"{out / 'report.html'}"
        )
    return ok


def run_demo(run_dir: Path | None, faults: bool = True, mesh: str = "envoy") -> int:
    """Run the demo with *mesh* (envoy or none); return 0 if every check passed, 1 otherwise."""
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="bookinfo-demo-"))
    lanes = ", ".join(f"{lane}={'+'.join(svcs)}" for lane, svcs in DEFAULT_LANES.items())
    routing = "Envoy" if mesh == "envoy" else "lanectx's clients (no mesh)"
    print(f"lanes: {lanes}; routed by {routing}; logs: {run_dir}")
    started = time.monotonic()
    with (
        EventHop(run_dir) as events,
        OtlpReceiver(run_dir / "traces.jsonl") as receiver,
        Stack(
            DEFAULT_LANES,
            free_port(),
            run_dir,
            receiver.endpoint,
            mesh=mesh,
            extra_env=events.env,
        ) as stack,
    ):
        print(f"ready in {time.monotonic() - started:.1f}s: {stack.url}\n")
        ok = _requests_table(stack.port, receiver)
        ok = _events_table(events, len(cases(DEFAULT_LANES)) + 1) and ok
        ok = _sample_traffic(stack.port) and ok
        if faults:
            ok = _fault_isolation(stack) and ok
        ok = _write_reports(receiver, run_dir / "report") and ok
    print(f"\n{'PASS' if ok else 'FAIL'}: demo finished in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1
