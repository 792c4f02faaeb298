"""Reading OTLP/JSON and building hop trees: hit, fallback, lane lost, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanectx.report import Span, SpanReader, build_report, lane_traces, read_files

from .otlp_json import CLIENT, SpanSpec, bookinfo_trace, export_line, export_request, span


def _read(tmp_path: Path, *lines: str) -> tuple[list[Span], int]:
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return read_files([path])


def test_spans_read_from_a_file_exporter_line(tmp_path: Path) -> None:
    """Ids, kind, service, service.lane, lane.id, duration and errors come from OTLP/JSON."""
    line = export_line([span("a1", "b2", None, "reviews", version="pr-7", lane="pr-7", millis=3)])
    (read,), skipped = _read(tmp_path, line)
    assert skipped == 0
    assert (read.trace_id, read.span_id, read.parent_id) == ("0" * 30 + "a1", "0" * 14 + "b2", "")
    assert (read.kind, read.service, read.service_lane, read.lane) == (2, "reviews", "pr-7", "pr-7")
    assert read.millis == pytest.approx(3.0)
    assert not read.error


@pytest.mark.parametrize(
    "bad",
    [
        "not json\n",
        "[1, 2]\n",
        '{"resourceSpans": 7}\n',
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "no ids"}, 5]}]}]}\n',
        '{"resourceSpans": [null, {"resource": 3, "scopeSpans": [null]}]}\n',
    ],
)
def test_bad_lines_are_skipped_and_counted(tmp_path: Path, bad: str) -> None:
    """A line or span that is not OTLP/JSON is skipped and counted; good lines still count."""
    good = export_line([span("1", "1", None, "details", lane="pr-1")])
    spans, skipped = _read(tmp_path, good, bad, "\n", good)
    assert len(spans) == 2
    assert skipped >= 1


def test_enum_names_and_http_errors(tmp_path: Path) -> None:
    """Kinds written as names are understood; an HTTP 5xx answer is an error."""
    request = export_request([span("1", "1", None, "details")])
    encoded = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    encoded["kind"] = "SPAN_KIND_CONSUMER"
    encoded["attributes"].append({"key": "http.status_code", "value": {"intValue": "503"}})
    (read,), _ = _read(tmp_path, json.dumps(request) + "\n")
    assert read.is_hop
    assert read.kind == 5
    assert read.error


def test_hops_hit_and_fallback() -> None:
    """In lane pr-7 with reviews redeployed: reviews is a hit, the other services fall back."""
    spans, _ = _spans_of(bookinfo_trace("1", "pr-7", reviews="pr-7"))
    (trace,) = lane_traces(spans, "pr-7")
    hops = {hop.span.service: hop.outcome for hop in trace.hops()}
    assert hops == {"productpage": "fallback", "details": "fallback", "reviews": "hit",
                    "ratings": "fallback"}  # fmt: skip
    (root,) = trace.roots
    assert [child.span.service for child in root.children] == ["details", "reviews"]
    assert [c.span.service for c in root.children[1].children] == ["ratings"]
    assert trace.worst == "fallback"


def test_lane_lost_names_the_service_that_dropped_it() -> None:
    """A server span without the lane below one with it is lost; the hops below it too."""
    spans, _ = _spans_of(bookinfo_trace("1", "pr-7", reviews="pr-7", drop_at="reviews"))
    (trace,) = lane_traces(spans, "pr-7")
    hops = {hop.span.service: (hop.outcome, hop.dropped_by) for hop in trace.hops()}
    assert hops["reviews"] == ("lost", "reviews")
    assert hops["ratings"] == ("lost", "reviews")
    assert hops["details"] == ("fallback", None)
    report = build_report(spans, "pr-7")
    assert report.dropped_by == {"reviews": 2}
    assert trace.worst == "lost"


def test_lane_lost_in_the_caller_counts_against_the_caller() -> None:
    """A client span that lost the lane makes the callee's hop lost, dropped by the caller."""
    spans = bookinfo_trace("1", "pr-7", reviews=None, drop_at="reviews")
    spans[3] = span("1", "4", "1", "productpage", kind=CLIENT)  # the call to reviews
    read, _ = _spans_of(spans)
    (trace,) = lane_traces(read, "pr-7")
    reviews = next(h for h in trace.hops() if h.span.service == "reviews")
    assert (reviews.outcome, reviews.dropped_by) == ("lost", "productpage")


def test_hops_before_the_lane_are_none_and_other_traces_are_left_out() -> None:
    """Hops above the first span with the lane are 'none'; traces without it are not read."""
    coloured = [
        span("1", "1", None, "gateway"),
        span("1", "2", "1", "productpage", lane="pr-7"),
    ]
    other = bookinfo_trace("2", None, reviews=None)
    spans, _ = _spans_of([*coloured, *other, *bookinfo_trace("3", "pr-8", reviews=None)])
    (trace,) = lane_traces(spans, "pr-7")
    (root,) = trace.roots
    assert (root.span.service, root.outcome) == ("gateway", "none")
    assert [(c.span.service, c.outcome) for c in root.children] == [("productpage", "fallback")]


def test_orphans_and_cycles_do_not_break_the_tree() -> None:
    """A span whose parent never arrived is a root; a parent cycle ends, spans kept once."""
    spans, _ = _spans_of(
        [
            span("1", "2", "99", "reviews", version="pr-7", lane="pr-7"),
            span("1", "3", "4", "details", lane="pr-7"),
            span("1", "4", "3", "details", lane="pr-7"),
        ]
    )
    (trace,) = lane_traces(spans, "pr-7")
    assert [hop.span.service for hop in trace.hops()] == ["reviews"]
    assert trace.spans == 3


def test_report_counts_outcomes_edges_and_errors() -> None:
    """The report totals hops by outcome, counts failed hops and calls between services."""
    spans, _ = _spans_of(
        [
            *bookinfo_trace("1", "pr-7", reviews="pr-7"),
            *bookinfo_trace("2", "pr-7", reviews="pr-7", error=True),
        ]
    )
    report = build_report(spans, "pr-7")
    assert report.totals == {"hit": 2, "fallback": 6, "lost": 0, "none": 0}
    assert report.errors == 1
    edges = {(e.source, e.target): e.calls for e in report.edges}
    assert edges == {("productpage", "details"): 2, ("productpage", "reviews"): 2,
                     ("reviews", "ratings"): 2}  # fmt: skip
    colours = {s.service: s.colour for s in report.services}
    assert colours == {"productpage": "fallback", "details": "fallback", "reviews": "hit",
                       "ratings": "fallback"}  # fmt: skip


def _spans_of(items: list[SpanSpec]) -> tuple[list[Span], int]:
    reader = SpanReader()
    return list(reader.lines([export_line(items)])), reader.skipped
