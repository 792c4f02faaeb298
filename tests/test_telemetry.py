"""Telemetry: lane.id on spans and logs, service.lane on the resource, a logging filter."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lanectx
from lanectx.telemetry import LaneResourceDetector, LaneSpanProcessor

SCRIPT = Path(__file__).parent / "apps" / "telemetry_script.py"


def _script(when: str, lane_env: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANE", "PR_ID"))}
    out = subprocess.run(
        [sys.executable, str(SCRIPT), when],
        env={**env, **lane_env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("when", ["before", "after"])
def test_instrument_wires_spans_and_logs(when: str) -> None:
    """Whether the SDK is configured before or after instrument(), spans and logs get lane.id."""
    result = _script(when, {})
    assert result["spans"]["in-lane"]["lane.id"] == "pr-5"
    assert "lane.id" not in result["spans"]["no-lane"]
    assert result["logs"]["in lane"]["lane.id"] == "pr-5"
    assert "lane.id" not in result["logs"]["no lane"]


def test_resource_gets_service_lane_when_instrumented_first() -> None:
    """instrument() before the SDK enables the lane resource detector (LANE_ID=pr-12)."""
    assert _script("before", {"LANE_ID": "pr-12"})["resource"]["service.lane"] == "pr-12"
    assert "service.lane" not in _script("after", {"LANE_ID": "pr-12"})["resource"]
    assert "service.lane" not in _script("before", {})["resource"]


@pytest.mark.parametrize(
    ("env", "attributes"),
    [
        ({"LANE_ID": "pr-3"}, {"service.lane": "pr-3"}),
        ({"PR_ID": "44"}, {"service.lane": "pr-44"}),
        ({"LANE_ID": "pr-3", "PR_ID": "44"}, {"service.lane": "pr-3"}),
        ({"LANE_ID": "Not Valid"}, {}),
        ({"PR_ID": "x"}, {}),
        ({}, {}),
    ],
)
def test_resource_attributes(env: dict[str, str], attributes: dict[str, str]) -> None:
    """service.lane comes from LANE_ID, else PR_ID; invalid values are ignored."""
    assert lanectx.resource(env) == attributes


def test_resource_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The detector reports LANE_ID, and nothing for a stable process."""
    monkeypatch.setenv("LANE_ID", "pr-8")
    assert dict(LaneResourceDetector().detect().attributes) == {"service.lane": "pr-8"}
    monkeypatch.delenv("LANE_ID")
    assert dict(LaneResourceDetector().detect().attributes) == {}


def test_span_processor_uses_the_parent_context() -> None:
    """A span started with an explicit parent context takes that context's lane."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with lanectx.use_lane("pr-6"):
        from opentelemetry.context import get_current

        ctx = get_current()
    with tracer.start_as_current_span("child", context=ctx):
        pass
    with tracer.start_as_current_span("plain"):
        pass
    spans = {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}
    assert spans == {"child": {"lane.id": "pr-6"}, "plain": {}}


def test_log_filter_for_plain_logging(caplog: pytest.LogCaptureFixture) -> None:
    """LaneLogFilter sets record.lane_id to the lane, or '-' without one."""
    log = logging.getLogger("plain-app")
    lane_filter = lanectx.LaneLogFilter()
    log.addFilter(lane_filter)
    try:
        with caplog.at_level(logging.INFO, logger="plain-app"):
            with lanectx.use_lane("pr-9"):
                log.info("one")
            log.info("two")
    finally:
        log.removeFilter(lane_filter)
    assert [(r.getMessage(), r.lane_id) for r in caplog.records] == [("one", "pr-9"), ("two", "-")]
