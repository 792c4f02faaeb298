"""`lanectx report`: Markdown and one self-contained HTML page; errors in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lanectx.cli import main
from lanectx.report import SpanReader, build_report, html_page, markdown

from .otlp_json import bookinfo_trace, export_line, span


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    """A file exporter file: pr-7 traces (one losing the lane at reviews), stable traffic."""
    lines = [export_line(bookinfo_trace("1", "pr-7", reviews="pr-7"))]
    lines.append(export_line(bookinfo_trace("2", "pr-7", reviews="pr-7", drop_at="reviews")))
    lines.append(export_line(bookinfo_trace("3", None, reviews=None, error=True)))
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(lines) + "garbage\n", encoding="utf-8")
    return path


def test_report_writes_markdown_and_html(
    traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o DIR writes report.md and report.html; --summary writes the summary alone."""
    out = tmp_path / "out"
    summary = out / "summary.md"  # inside the output folder, as the CI workflow writes it
    assert main(["report", "pr-7", str(traces), "-o", str(out), "--summary", str(summary)]) == 0
    assert "2 traces of pr-7" in capsys.readouterr().out
    text = (out / "report.md").read_text()
    assert "**2 traces** of lane `pr-7`" in text
    assert "Lane lost at: **reviews** (2 hops)." in text
    assert "1 unreadable lines or spans were skipped." in text
    assert "reviews `pr-7`: lost (dropped by reviews)" in text
    assert "## Traces" not in summary.read_text()
    assert "Lane lost at" in summary.read_text()
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert '<svg class="service-graph"' in page


def test_report_to_stdout(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without -o the Markdown report goes to stdout."""
    assert main(["report", "pr-7", str(traces), "--min-samples", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Lane `pr-7`: which version served each hop")
    assert "| reviews | 2 / 1 |" in out  # two hops of reviews-pr-7, one of stable reviews


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "PR 7!", "x.jsonl"], "not a valid lane id"),
        (["report", "pr-7", "/nonexistent/traces.jsonl"], "No such file"),
        (["report", "pr-7", "x.jsonl", "--min-samples", "0"], "--min-samples"),
        (["report", "pr-7"], "the following arguments are required"),
        (["receive", "-o", "x", "--listen", "nowhere"], "expected HOST:PORT"),
    ],
)
def test_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad arguments or files: exit 2 and one line on stderr naming the problem."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_html_is_self_contained_and_escaped() -> None:
    """No scripts, no fetched resources; hostile service names and span names are escaped."""
    hostile = '<script>alert("x")</script>'
    items = [
        span("1", "1", None, hostile, lane="pr-7", name="<img src=x onerror=alert(1)>"),
        span("1", "2", "1", "reviews", version="pr-7", lane="pr-7"),
    ]
    report = build_report(list(SpanReader().lines([export_line(items)])), "pr-7")
    page = html_page(report)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    nodes = re.findall(r'<g class="node (\w+)" data-service="([^"]*)"', page)
    assert sorted(nodes) == sorted([("fallback", hostile.replace("<", "&lt;").replace(">", "&gt;")
                                     .replace('"', "&quot;")), ("hit", "reviews")])  # fmt: skip
    md = markdown(report)
    assert "| 1 | 0 | 0 | 0 |" in md  # the services table: one hit for reviews


def test_no_lane_traces_say_so() -> None:
    """A lane no trace carried gets a report saying so, with an empty graph."""
    report = build_report([], "pr-9")
    assert "No trace carried lane `pr-9`." in markdown(report)
    assert '<svg class="service-graph"' in html_page(report)


def test_a_pathologically_deep_trace_renders() -> None:
    """A chain of 3,000 nested hops renders as balanced lists, indentation capped, no crash."""
    items = [span("1", "1", None, "svc", lane="pr-7")]
    items += [span("1", f"{i:x}", f"{i - 1:x}", "svc", lane="pr-7") for i in range(2, 3001)]
    report = build_report(list(SpanReader().lines([export_line(items)])), "pr-7")
    page = html_page(report)
    assert page.count('<li class="hop') == 3000
    assert page.count("<ul") == page.count("</ul>")
    assert page.count("<li") == page.count("</li>")
    assert max(len(line) - len(line.lstrip()) for line in markdown(report).splitlines()) <= 42


def test_absurdly_nested_json_is_skipped() -> None:
    """A line nested deeper than the JSON parser allows is skipped, not a crash."""
    reader = SpanReader()
    good = export_line([span("1", "1", None, "details", lane="pr-7")])
    assert len(list(reader.lines(["[" * 100_000 + "]" * 100_000, good]))) == 1
    assert reader.skipped == 1
