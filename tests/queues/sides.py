"""What the isolation tests share: the results file of the consumer processes, the lane map."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Results:
    """The file every consumer process appends "<label> <lane> <side>" lines to."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        """Every line written so far."""
        return self.path.read_text().splitlines() if self.path.exists() else []

    def handled(self) -> list[str]:
        """The lines of handled messages (not the readiness lines)."""
        return [line for line in self.lines() if not line.startswith("ready")]

    def wait(self, *expected: str, timeout: float = 30) -> None:
        """Wait until every one of *expected* has been written."""
        deadline = time.monotonic() + timeout
        while not set(expected) <= set(self.lines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {expected}, have {self.lines()}")
            time.sleep(0.1)


def write_map(path: Path, lanes: list[str]) -> None:
    """Replace the lane map file at once, as a ConfigMap update does, and let it be seen."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"services": {"notifier": lanes}}))
    os.replace(scratch, path)
    time.sleep(1.6)  # the map is re-read within 0.5 s, and compared once a second


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a consumer process: this one's, without a lane, plus *extra*."""
    env = {key: value for key, value in os.environ.items() if key not in ("LANE_ID", "PR_ID")}
    env.update(LANECTX_SERVICE="notifier", PYTHONPATH=str(ROOT), **extra)
    return env


@contextmanager
def running(
    args: list[str], env: dict[str, str], results: Results, lane: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run one consumer process (in *lane*, or stable) until it is ready; SIGTERM it at the end."""
    side = lane or "stable"
    process = subprocess.Popen(args, cwd=ROOT, env={**env, **({"LANE_ID": lane} if lane else {})})
    try:
        results.wait(f"ready - {side}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
