"""Which version served each hop of a lane's traces: Markdown and one HTML page.

    from lanectx.report import build_report, html_page, markdown, read_files
    spans, skipped = read_files([Path("traces.jsonl")])   # the Collector's file exporter
    report = build_report(spans, "pr-7", skipped=skipped)
    Path("report.html").write_text(html_page(report))

From the shell: ``lanectx report pr-7 traces.jsonl -o report/``; for local runs
``lanectx receive -o traces.jsonl`` takes OTLP/HTTP and writes the same file.
The lane-against-stable test needs ``lanectx[report]`` (SciPy).
"""

from ._compare import Comparison, Judgement, compare
from ._html import html_page
from ._markdown import markdown
from ._model import Hop, LaneTrace, lane_traces
from ._receiver import OtlpReceiver
from ._report import Report, build_report
from ._spans import Span, SpanReader, read_files

__all__ = [
    "Comparison",
    "Hop",
    "Judgement",
    "LaneTrace",
    "OtlpReceiver",
    "Report",
    "Span",
    "SpanReader",
    "build_report",
    "compare",
    "html_page",
    "lane_traces",
    "markdown",
    "read_files",
]
