"""Celery workers in separate processes on real brokers: isolation, and both lane transitions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery

import lanectx

ROOT = Path(__file__).resolve().parents[2]


class Side:
    """The results file the workers write to, read as "<label> <lane> <side>" lines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def wait(self, *expected: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not set(expected) <= set(self.lines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {expected}, have {self.lines()}")
            time.sleep(0.1)


def write_map(path: Path, lanes: list[str]) -> None:
    """Replace the lane map file at once, as a ConfigMap update does."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"services": {"notifier": lanes}}))
    os.replace(scratch, path)
    time.sleep(1.6)  # the map is re-read within 0.5 s, and compared once a second


@contextmanager
def worker(env: dict[str, str], results: Side, lane: str | None) -> Iterator[None]:
    """Run a Celery worker process of tests/apps/celery_worker.py; SIGTERM it at the end."""
    side = lane or "stable"
    args = [sys.executable, "-m", "celery", "-A", "tests.apps.celery_worker", "worker"]
    args += ["--pool", "solo", "-l", "warning", "-n", f"{side}-{uuid.uuid4().hex[:6]}@test"]
    args += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
    process = subprocess.Popen(args, cwd=ROOT, env={**env, **({"LANE_ID": lane} if lane else {})})
    try:
        results.wait(f"ready - {side}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_lane_and_stable_workers_split_tasks_exactly_once(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each task runs once, on its side, also before a lane's worker starts and after it goes."""
    url = str(request.getfixturevalue(f"{broker}_url"))
    queue, lanes = f"notify-{uuid.uuid4().hex[:8]}", tmp_path / "lanes.json"
    results = Side(tmp_path / "results.txt")
    env = {key: value for key, value in os.environ.items() if key not in ("LANE_ID", "PR_ID")}
    env.update(
        TEST_BROKER_URL=url,
        TEST_QUEUE=queue,
        TEST_RESULTS=str(results.path),
        LANECTX_SERVICE="notifier",
        LANECTX_LANE_MAP=str(lanes),
        PYTHONPATH=str(ROOT),
    )
    publisher = Celery("publisher", broker=url, set_as_current=False)
    publisher.conf.task_default_queue = queue
    lanectx.instrument()

    def publish(label: str, lane: str | None) -> None:
        with lanectx.use_lane(lane):
            publisher.send_task("record", (label,))

    write_map(lanes, [])
    with worker(env, results, None):
        publish("early", "pr-7")  # the map does not list pr-7 yet: stable runs it
        results.wait("early pr-7 stable")
        write_map(lanes, ["pr-7"])
        publish("waits", "pr-7")  # before pr-7's worker exists: it waits for it
        publish("plain", None)
        publish("other", "pr-9")
        results.wait("plain None stable", "other pr-9 stable")
        with worker(env, results, "pr-7"):
            results.wait("waits pr-7 pr-7")
            publish("in-lane", "pr-7")
            results.wait("in-lane pr-7 pr-7")
        publish("left-behind", "pr-7")  # the lane's worker is gone, the map still lists it
        time.sleep(1)
        write_map(lanes, [])
        results.wait("left-behind pr-7 stable")
        publish("after", "pr-7")
        results.wait("after pr-7 stable")
    handled = [line for line in results.lines() if not line.startswith("ready")]
    assert sorted(handled) == sorted(
        [
            "early pr-7 stable",
            "waits pr-7 pr-7",
            "plain None stable",
            "other pr-9 stable",
            "in-lane pr-7 pr-7",
            "left-behind pr-7 stable",
            "after pr-7 stable",
        ]
    )
