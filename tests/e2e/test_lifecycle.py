"""The runner starts everything, stops everything, and fails clearly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .harness import RUN_PY, marked_pids, start_runner

pytestmark = [pytest.mark.slow, pytest.mark.envoy]


def _wait_gone(marker: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := marked_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_sigint_stops_every_child(tmp_path: Path) -> None:
    """After SIGINT the runner exits 0 and none of its processes survive."""
    runner = start_runner(tmp_path, ["--lane", "pr-5=details,productpage"])
    children = marked_pids(runner.marker)
    assert len(children) == 8  # runner, 4 stable, 2 lane versions, envoy
    assert runner.stop(signal.SIGINT) == 0
    assert _wait_gone(runner.marker) == []


def test_crashed_child_does_not_leave_others_behind(tmp_path: Path) -> None:
    """With one child already dead, SIGTERM still stops all the others."""
    runner = start_runner(tmp_path, ["--lane", "pr-5=ratings"])
    os.killpg(runner.state()["ratings-pr-5"]["pid"], signal.SIGKILL)
    assert runner.stop(signal.SIGTERM) == 0
    assert _wait_gone(runner.marker) == []


def test_failing_service_is_named_with_its_log(tmp_path: Path) -> None:
    """A version that cannot start: exit 1, its name and log on stderr, nothing left."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if os.environ.get('OTEL_SERVICE_NAME') == 'details' and "
        "os.environ.get('LANE_ID') == 'pr-66':\n"
        "    sys.exit('details refuses to start here')\n"
    )
    env = {"PYTHONPATH": str(hook)}
    runner = start_runner(tmp_path / "run", ["--lane", "pr-66=details"], env, wait_ready=False)
    status = runner.process.wait(timeout=60)
    runner.stop()
    stderr = runner.stderr()
    assert status == 1
    assert "details-pr-66 failed to start" in stderr
    assert str(tmp_path / "run" / "details-pr-66.log") in stderr
    assert "details refuses to start here" in stderr
    assert _wait_gone(runner.marker) == []


def test_bad_lane_argument_is_refused() -> None:
    """An invalid --lane is a usage error (exit 2) before anything starts."""
    result = subprocess.run(
        [sys.executable, str(RUN_PY), "up", "--lane", "pr-1=nosuch"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unknown service 'nosuch'" in result.stderr


def test_demo_passes(tmp_path: Path) -> None:
    """``run.py demo`` checks every case, prints the table and traces, and exits 0."""
    result = subprocess.run(
        [sys.executable, str(RUN_PY), "demo", "--run-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    assert "pr-314 via baggage only" in result.stdout
    assert "<- fallback hop" in result.stdout
    assert "FAIL" not in result.stdout
    if shutil.which("redis-server"):  # async hop: pr-7 events to its notifier, others fall back
        assert "pr-7        3       pr-7          pr-7      ok" in result.stdout
        assert "pr-31       5       stable        stable    ok (fallback" in result.stdout
    else:
        assert "Async hop skipped: redis-server is not installed" in result.stdout
