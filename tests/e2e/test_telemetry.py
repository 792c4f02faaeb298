"""Spans exported over OTLP carry the request's lane and the serving version's lane."""

from __future__ import annotations

import pytest
from runner.cases import fetch
from runner.otlp import OtlpReceiver

from .harness import Runner

pytestmark = [pytest.mark.slow, pytest.mark.envoy]

SERVICES = {"productpage", "details", "reviews", "ratings"}


def _server_spans(otlp: OtlpReceiver, trace_id: str) -> dict[str, object]:
    spans = otlp.wait_for(trace_id, SERVICES, timeout=10)
    return {span.service: span for span in spans if span.kind == 2}


def test_lane_request_spans_carry_lane_id(bookinfo: Runner, otlp: OtlpReceiver) -> None:
    """Every span of a pr-314 request has lane.id=pr-314, from all four services."""
    answer = fetch(bookinfo.port, (("x-pr-id", "314"),))
    spans = otlp.wait_for(answer.trace_id, SERVICES, timeout=10)
    assert {span.service for span in spans} == SERVICES
    assert {span.lane_id for span in spans} == {"pr-314"}


def test_service_lane_names_the_serving_version(bookinfo: Runner, otlp: OtlpReceiver) -> None:
    """service.lane is set on lane versions only; fallback hops are the other ones."""
    answer = fetch(bookinfo.port, (("baggage", "lane=pr-314"),))
    servers = _server_spans(otlp, answer.trace_id)
    lanes = {name: span.service_lane for name, span in servers.items()}  # type: ignore[attr-defined]
    assert lanes == {"productpage": None, "details": None, "reviews": "pr-314", "ratings": None}
    fallback = {name for name, span in servers.items() if span.fallback}  # type: ignore[attr-defined]
    assert fallback == {"productpage", "details", "ratings"}


def test_both_lane_versions_in_one_trace(bookinfo: Runner, otlp: OtlpReceiver) -> None:
    """A pr-31 request is one trace through reviews-pr-31 and ratings-pr-31."""
    answer = fetch(bookinfo.port, (("x-lane-id", "pr-31"),))
    servers = _server_spans(otlp, answer.trace_id)
    assert servers["reviews"].service_lane == "pr-31"  # type: ignore[attr-defined]
    assert servers["ratings"].service_lane == "pr-31"  # type: ignore[attr-defined]
    assert {s.lane_id for s in servers.values()} == {"pr-31"}  # type: ignore[attr-defined]


def test_no_lane_request_spans_have_no_lane(bookinfo: Runner, otlp: OtlpReceiver) -> None:
    """Without a lane, no span carries lane.id and stable versions serve every hop."""
    answer = fetch(bookinfo.port)
    spans = otlp.wait_for(answer.trace_id, SERVICES, timeout=10)
    assert {span.service for span in spans} == SERVICES
    assert {span.lane_id for span in spans} == {None}
    assert {span.service_lane for span in spans} == {None}
