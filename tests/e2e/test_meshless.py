"""Bookinfo without a mesh: ``run.py --mesh none``, the services route for themselves."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DEFAULT_LANES, RUN_PY, Runner, environ, marked_pids, start_runner

pytestmark = pytest.mark.slow

DEMO_LANES = {"reviews": ["pr-31", "pr-314"], "ratings": ["pr-31", "pr-7"]}


@pytest.fixture(scope="module")
def meshless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """``run.py up --mesh none`` with the demo's lanes."""
    args = ["--mesh", "none", *(arg for lane in DEFAULT_LANES for arg in ("--lane", lane))]
    runner = start_runner(tmp_path_factory.mktemp("meshless"), args)
    try:
        yield runner
    finally:
        status = runner.stop()
        assert status == 0, runner.stderr()
        deadline = time.monotonic() + 10
        while marked_pids(runner.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marked_pids(runner.marker) == []


def test_each_version_is_configured_only_by_the_contract_environment(meshless: Runner) -> None:
    """Every version runs with LANECTX_ROUTING=client, its service, its lane and the map."""
    state = meshless.state()
    assert "envoy" not in state
    versions = {name: info for name, info in state.items() if name != "lane_map"}
    assert len(versions) == 8
    for name, info in versions.items():
        env = environ(info["pid"])
        service, _, version = name.partition("-")
        assert env["LANECTX_ROUTING"] == "client"
        assert env["LANECTX_SERVICE"] == service
        assert env.get("LANE_ID", "stable") == version
        assert "HTTP_PROXY" not in env
        assert "RATINGS_TARGET" not in env
        lanes = json.loads(Path(env["LANECTX_LANE_MAP"]).read_text())
        assert {k: v for k, v in lanes["services"].items() if v} == DEMO_LANES
    assert state["productpage-stable"]["port"] == meshless.port


def test_requests_are_served_by_their_lanes_versions(meshless: Runner) -> None:
    """Through the ingress (stable productpage) each lane reaches its versions."""
    from runner.cases import DEFAULT_LANES as LANES
    from runner.cases import cases, fetch

    for case in cases(LANES):
        answer = fetch(meshless.port, case.headers)
        assert answer.status == 200, case.label
        assert answer.served_by == case.expected, case.label


def test_a_stopped_lane_version_fails_only_its_lane(tmp_path: Path) -> None:
    """With reviews-pr-314 gone, pr-314 gets a fast 503 naming reviews; pr-31 still works."""
    from runner.cases import fetch

    args = ["--mesh", "none", "--lane", "pr-31=reviews", "--lane", "pr-314=reviews"]
    runner = start_runner(tmp_path, args)
    try:
        os.killpg(runner.state()["reviews-pr-314"]["pid"], signal.SIGTERM)
        time.sleep(0.5)
        broken = fetch(runner.port, (("x-pr-id", "314"),))
        assert broken.status == 503
        assert broken.body["service"] == "reviews"
        assert broken.seconds < 1
        fine = fetch(runner.port, (("x-pr-id", "31"),))
        assert fine.served_by["reviews"] == "pr-31"
    finally:
        assert runner.stop(signal.SIGTERM) == 0


def test_a_taken_ingress_port_is_an_error(tmp_path: Path) -> None:
    """``up --mesh none`` on a port already in use exits non-zero and says so."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = start_runner(tmp_path, ["--mesh", "none", "--port", str(port)], wait_ready=False)
        status = runner.process.wait(timeout=60)
        runner.stop()
    assert status != 0
    assert f"ingress port {port} is taken" in runner.stderr()
    assert marked_pids(runner.marker) == []


def test_demo_passes_without_a_mesh(tmp_path: Path) -> None:
    """``run.py demo --mesh none``: the same table, traces and fault isolation, exit 0."""
    result = subprocess.run(
        [sys.executable, str(RUN_PY), "demo", "--mesh", "none", "--run-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "routed by lanectx's clients (no mesh)" in result.stdout
    assert "PASS" in result.stdout
    assert "pr-314 via baggage only" in result.stdout
    assert "503 naming reviews: all" in result.stdout
    assert "FAIL" not in result.stdout
