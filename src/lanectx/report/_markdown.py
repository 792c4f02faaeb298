"""A lane report as Markdown: the summary (for a PR comment) and the hop trees.

text = markdown(report)            # summary, services, comparisons, traces
text = markdown(report, traces=0)  # the summary alone
"""

from __future__ import annotations

from ._model import LOST, LaneTrace
from ._report import Report

__all__ = ["markdown", "ordered_traces", "summary_lines"]

_RANK = {LOST: 0, "error": 1, "fallback": 2, "hit": 3}
_MAX_INDENT = 20  # deeper hops are listed at this depth


def ordered_traces(report: Report) -> list[LaneTrace]:
    """The report's traces, the telling ones first: lost, errors, fallbacks, then hits."""
    return sorted(report.traces, key=lambda t: (_RANK[t.worst], t.start))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def summary_lines(report: Report) -> list[str]:
    """The report's headline: hops by outcome and where the lane was lost."""
    totals = report.totals
    hops = sum(totals.values())
    lines = [
        f"**{len(report.traces)} traces** of lane `{report.lane}`, {hops} hops: "
        f"{totals['hit']} hit (the lane's version), {totals['fallback']} fallback (stable), "
        f"{totals['lost']} lane lost, {report.errors} failed.",
    ]
    dropped = report.dropped_by
    if dropped:
        where = ", ".join(f"**{name}** ({n} hops)" for name, n in sorted(dropped.items()))
        lines.append(f"Lane lost at: {where}.")
    elif report.traces:
        lines.append("The lane reached every hop.")
    else:
        lines.append(f"No trace carried lane `{report.lane}`.")
    if report.skipped:
        lines.append(f"{report.skipped} unreadable lines or spans were skipped.")
    return lines


def _services(report: Report) -> list[str]:
    lines = ["| service | hit | fallback | lost | failed | served by |", "|---" * 6 + "|"]
    for service in report.services:
        versions = ", ".join(f"{v} ({n})" for v, n in sorted(service.versions.items()))
        counts = " | ".join(str(service.outcomes[o]) for o in ("hit", "fallback", LOST))
        lines.append(f"| {_cell(service.service)} | {counts} | {service.errors} | {versions} |")
    return lines


def _comparisons(report: Report) -> list[str]:
    if not report.comparisons:
        return ["No service of this lane served a hop, so there is nothing to compare."]
    lines = [
        f"Hops of each redeployed service, lane version against stable: median latency and "
        f"error rate, two-sided Mann-Whitney U; at least {report.min_samples} hops a side.",
        "",
        "| service | hops lane / stable | median ms lane / stable | latency | p "
        "| error rate lane / stable | errors | p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report.comparisons:
        lat, err = row.latency, row.errors
        lines.append(
            f"| {_cell(row.service)} | {row.lane_samples} / {row.stable_samples} "
            f"| {lat.lane:.1f} / {lat.stable:.1f} | {lat.verdict} | {_p(lat.p_value)} "
            f"| {err.lane:.1%} / {err.stable:.1%} | {err.verdict} | {_p(err.p_value)} |"
        )
    return lines


def _trace(trace: LaneTrace) -> list[str]:
    lines = [f"- trace `{trace.trace_id}`: {trace.worst}"]
    for root in trace.roots:
        for depth, hop in root.walk():
            span = hop.span
            note = f" (dropped by {hop.dropped_by})" if hop.dropped_by else ""
            failed = ", **failed**" if span.error else ""
            indent = "  " * (min(depth, _MAX_INDENT) + 1)
            lines.append(
                f"{indent}- {_cell(span.service)} `{span.version}`: "
                f"{hop.outcome}{note}{failed}, {span.millis:.1f} ms, {_cell(span.name)}"
            )
    return lines


def markdown(report: Report, traces: int = 50) -> str:
    """Return the report as Markdown, with at most *traces* hop trees (0: summary only)."""
    lines = [f"# Lane `{report.lane}`: which version served each hop", ""]
    for line in summary_lines(report):
        lines += [line, ""]
    lines += ["## Lane version against stable", ""]
    lines += [*_comparisons(report), ""]
    if traces <= 0:
        return "\n".join(lines)
    lines += ["## Services", "", *_services(report), "", "## Traces", ""]
    shown = ordered_traces(report)[:traces]
    for trace in shown:
        lines += _trace(trace)
    if len(report.traces) > len(shown):
        lines.append(f"\n{len(report.traces) - len(shown)} more traces not shown.")
    return "\n".join(lines) + "\n"
