"""Celery workers in separate processes on real brokers: isolation, and both lane transitions."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

import lanectx

from .sides import Results, base_env, running, write_map

EXPECTED = [
    "early pr-7 stable",
    "waits pr-7 pr-7",
    "plain None stable",
    "other pr-9 stable",
    "in-lane pr-7 pr-7",
    "left-behind pr-7 stable",
    "after pr-7 stable",
]


def worker_args(lane: str | None) -> list[str]:
    """The command line of a Celery worker of tests/apps/celery_worker.py."""
    name = f"{lane or 'stable'}-{uuid.uuid4().hex[:6]}@test"
    args = [sys.executable, "-m", "celery", "-A", "tests.apps.celery_worker", "worker"]
    return [*args, "--pool", "solo", "-l", "warning", "-n", name, "--without-heartbeat",
            "--without-mingle", "--without-gossip"]  # fmt: skip


def _sides(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[str, Path, Results, dict[str, str], Celery]:
    """One test's queue, lane map path, results, worker environment and publisher on *broker*;
    lanectx instrumented for the publisher."""
    url = str(request.getfixturevalue(f"{broker}_url"))
    queue, lanes = f"notify-{uuid.uuid4().hex[:8]}", tmp_path / "lanes.json"
    results = Results(tmp_path / "results.txt")
    env = base_env(
        TEST_BROKER_URL=url, TEST_QUEUE=queue, TEST_RESULTS=str(results.path),
        LANECTX_LANE_MAP=str(lanes),
    )  # fmt: skip
    publisher = Celery("publisher", broker=url, set_as_current=False)
    publisher.conf.task_default_queue = queue
    lanectx.instrument()
    return queue, lanes, results, env, publisher


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_lane_and_stable_workers_split_tasks_exactly_once(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each task runs once, on its side, also before a lane's worker starts and after it goes."""
    _queue, lanes, results, env, publisher = _sides(broker, request, tmp_path)

    def publish(label: str, lane: str | None) -> None:
        with lanectx.use_lane(lane):
            publisher.send_task("record", (label,))

    write_map(lanes, [])
    with running(worker_args(None), env, results, None):
        publish("early", "pr-7")  # the map does not list pr-7 yet: stable runs it
        results.wait("early pr-7 stable")
        write_map(lanes, ["pr-7"])
        publish("waits", "pr-7")  # before pr-7's worker exists: it waits for it
        publish("plain", None)
        publish("other", "pr-9")
        results.wait("plain None stable", "other pr-9 stable")
        with running(worker_args("pr-7"), env, results, "pr-7"):
            results.wait("waits pr-7 pr-7")
            publish("in-lane", "pr-7")
            results.wait("in-lane pr-7 pr-7")
        publish("left-behind", "pr-7")  # the lane's worker is gone, the map still lists it
        time.sleep(1)
        write_map(lanes, [])
        results.wait("left-behind pr-7 stable")
        publish("after", "pr-7")
        results.wait("after pr-7 stable")
    assert sorted(results.handled()) == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_sigterm_stops_a_lane_worker_without_losing_tasks(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """SIGTERM mid-task: the task finishes, the prefetched ones wait for the next worker."""
    _queue, lanes, results, env, publisher = _sides(broker, request, tmp_path)
    write_map(lanes, ["pr-7"])
    labels = [f"slow-{n}" for n in range(3)]
    with running(worker_args(None), env, results, None):
        with running(worker_args("pr-7"), env, results, "pr-7"):
            with lanectx.use_lane("pr-7"):
                for label in labels:
                    publisher.send_task("record", (label,))
            results.wait("begin slow-0")
        # the worker got SIGTERM while running slow-0 and holding the others
        results.wait("slow-0 pr-7 pr-7")
        with running(worker_args("pr-7"), env, results, "pr-7"):
            results.wait(*(f"{label} pr-7 pr-7" for label in labels))
    handled = [line for line in results.handled() if not line.startswith("begin")]
    assert sorted(handled) == [f"{label} pr-7 pr-7" for label in labels]


def _waiting(publisher: Celery, queue: str) -> int:
    """The number of tasks waiting in *queue* (declared if missing)."""
    with publisher.connection_for_read() as connection:
        declared = connection.default_channel.queue_declare(queue, durable=True, auto_delete=False)
        return int(declared.message_count)


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_restarted_stable_worker_takes_over_a_lane_that_left_before_it_started(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A lane queue's waiting tasks run once, in stable, after a restart that missed the lane."""
    queue, lanes, results, env, publisher = _sides(broker, request, tmp_path)
    write_map(lanes, ["pr-7"])
    with running(worker_args(None), env, results, None):
        with lanectx.use_lane("pr-7"):
            publisher.send_task("record", ("left-behind",))
        deadline = time.monotonic() + 20
        while _waiting(publisher, f"{queue}-pr-7") < 1:  # moved to the lane's queue
            assert time.monotonic() < deadline, "the task was not moved to the lane's queue"
            time.sleep(0.2)
    write_map(lanes, [])  # the lane leaves while no stable worker runs
    with running(worker_args(None), env, results, None):
        results.wait("left-behind pr-7 stable")
        with lanectx.use_lane("pr-7"):
            publisher.send_task("record", ("after",))
        results.wait("after pr-7 stable")
    assert sorted(results.handled()) == ["after pr-7 stable", "left-behind pr-7 stable"]
    assert _waiting(publisher, f"{queue}-pr-7") == 0
