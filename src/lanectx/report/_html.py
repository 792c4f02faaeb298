"""A lane report as one self-contained HTML page: no scripts, no fetched resources.

    Path("report.html").write_text(html_page(report))

The page has the summary, the service graph (inline SVG), the comparison table,
and each trace as a hop tree (``<ul class="hop-tree">``, one ``<li class="hop
OUTCOME">`` per hop), the telling traces first and open.
"""

from __future__ import annotations

from html import escape

from ._graph import COLOURS, service_graph
from ._markdown import ordered_traces, summary_lines
from ._model import Hop, LaneTrace
from ._report import Report

__all__ = ["html_page"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212121;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:4px;color:#fff}
ul.hop-tree,ul.hop-tree ul{list-style:none;padding-left:22px;margin:2px 0}
li.hop>span.box{display:inline-block;padding:1px 8px;border-radius:4px;color:#fff}
li.hop.failed>span.box{outline:3px dashed #c62828;outline-offset:1px}
details{margin:4px 0}summary{cursor:pointer}code{font-size:12px}
"""


MAX_DEPTH = 30  # deeper hops are shown at this depth: pathological traces stay readable


def _hop(hop: Hop) -> str:
    """The opening of a hop's list item (its children's list follows, then ``</li>``)."""
    span = hop.span
    classes = f"hop {hop.outcome}" + (" failed" if span.error else "")
    note = f" — dropped by {escape(hop.dropped_by)}" if hop.dropped_by else ""
    failed = " — failed" if span.error else ""
    return (
        f'<li class="{classes}" data-service="{escape(span.service)}">'
        f'<span class="box" style="background:{COLOURS[hop.outcome]}">'
        f"{escape(span.service)} · {escape(span.version)} · {hop.outcome}</span> "
        f"{span.millis:.1f} ms {escape(span.name)}{note}{failed}"
    )


def _tree(root: Hop) -> str:
    """Nested lists of *root* and the hops below it, built without recursion."""
    parts: list[str] = []
    last = -1  # the depth of the list item still open
    for depth, hop in root.walk():
        depth = min(depth, MAX_DEPTH)
        if depth > last:
            parts.append("<ul>" if depth else "")
        else:
            parts.append("</li>" + "</ul></li>" * (last - depth))
        parts.append(_hop(hop))
        last = depth
    parts.append("</li>" + "</ul></li>" * last)
    return "".join(parts)


def _trace(trace: LaneTrace, open_: bool) -> str:
    tree = "".join(_tree(root) for root in trace.roots)
    return (
        f'<details class="trace {trace.worst}"{" open" if open_ else ""}>'
        f"<summary><code>{escape(trace.trace_id)}</code> {trace.worst}, "
        f"{sum(1 for _ in trace.hops())} hops</summary>"
        f'<ul class="hop-tree">{tree}</ul></details>'
    )


def _markdown_bold(line: str) -> str:
    parts = escape(line).split("**")
    text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _comparisons(report: Report) -> str:
    head = (
        "<tr><th>service</th><th>hops lane / stable</th><th>median ms lane / stable</th>"
        "<th>latency</th><th>p</th><th>error rate lane / stable</th><th>errors</th><th>p</th></tr>"
    )
    rows = []
    for row in report.comparisons:
        lat, err = row.latency, row.errors
        cells = (
            escape(row.service),
            f"{row.lane_samples} / {row.stable_samples}",
            f"{lat.lane:.1f} / {lat.stable:.1f}",
            escape(lat.verdict),
            "-" if lat.p_value is None else f"{lat.p_value:.3g}",
            f"{err.lane:.1%} / {err.stable:.1%}",
            escape(err.verdict),
            "-" if err.p_value is None else f"{err.p_value:.3g}",
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        return "<p>No service of this lane served a hop, so there is nothing to compare.</p>"
    note = (
        f"<p>Two-sided Mann-Whitney U; a verdict needs at least {report.min_samples} hops on "
        "each side.</p>"
    )
    return f'{note}<table class="comparisons">{head}{"".join(rows)}</table>'


def html_page(report: Report, traces: int = 500) -> str:
    """Return the report as one HTML page, with at most *traces* hop trees."""
    lane = escape(report.lane)
    legend = "".join(
        f'<span style="background:{colour}">{name}</span>' for name, colour in COLOURS.items()
    )
    shown = ordered_traces(report)[:traces]
    trees = "".join(_trace(t, i < 10 and t.worst != "hit") for i, t in enumerate(shown))
    more = len(report.traces) - len(shown)
    summary = "".join(f"<p>{_markdown_bold(line)}</p>" for line in summary_lines(report))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Lane {lane}: which version served each hop</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Lane <code>{lane}</code>: which version served each hop</h1>"
        f'<section class="summary">{summary}</section>'
        f'<h2>Service graph</h2><p class="legend">{legend}</p>{service_graph(report)}'
        f"<h2>Lane version against stable</h2>{_comparisons(report)}"
        f'<h2>Traces</h2><section class="traces">{trees}'
        f"{f'<p>{more} more traces not shown.</p>' if more > 0 else ''}</section>"
        "</body></html>\n"
    )
