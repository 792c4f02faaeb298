"""confluent-kafka consumers in separate processes on the mock cluster: isolation, transitions."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import confluent_kafka
import pytest

import lanectx

from .kafka_clients import CLIENTS, consume, new_topic, produce
from .sides import ROOT, Results, base_env, running, write_map
from .test_celery_isolation import EXPECTED

# kafka-python now and then misses a group join against the mock cluster (docs/queues.md):
# a failed case is run again, at most twice, before it counts as failed.
pytestmark = pytest.mark.flaky(reruns=2)

WORKER = [sys.executable, str(ROOT / "tests" / "apps" / "kafka_worker.py")]


CASES = [(client, batch) for client in CLIENTS for batch in (False, True)]


def _setup(
    bootstrap: str, tmp_path: Path, client: str, batch: bool = False
) -> tuple[str, Path, Results, dict[str, str]]:
    """A topic of the test's own (and its workers' group), the lane map path, the results
    file and the workers' environment; lanectx instrumented in this process."""
    topic, lanes = new_topic(), tmp_path / "lanes.json"
    results = Results(tmp_path / "results.txt")
    env = base_env(
        TEST_BOOTSTRAP=bootstrap, TEST_TOPIC=topic, TEST_GROUP=f"g-{topic}",
        TEST_RESULTS=str(results.path), LANECTX_LANE_MAP=str(lanes),
        TEST_CLIENT=client, TEST_BATCH=str(int(batch)),
    )  # fmt: skip
    # A producer's metadata request creates the topic (the mock cluster has no CreateTopics).
    confluent_kafka.Producer({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    lanectx.instrument()
    return topic, lanes, results, env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("client", "batch"), CASES, ids=[f"{c}-{'batches' if b else 'one-by-one'}" for c, b in CASES]
)
def test_lane_and_stable_consumers_split_records_exactly_once(
    client: str, batch: bool, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Each record is handled once, on its side, also before a lane's consumer starts and after."""
    topic, lanes, results, env = _setup(kafka_bootstrap, tmp_path, client, batch)

    def publish(label: str, lane: str | None) -> None:
        with lanectx.use_lane(lane):
            produce(client, kafka_bootstrap, topic, [(label.encode(), None)])

    write_map(lanes, [])
    with running(WORKER, env, results, None):
        publish("early", "pr-7")
        results.wait("early pr-7 stable")
        write_map(lanes, ["pr-7"])
        publish("waits", "pr-7")
        publish("plain", None)
        publish("other", "pr-9")
        results.wait("plain None stable", "other pr-9 stable")
        with running(WORKER, env, results, "pr-7"):
            results.wait("waits pr-7 pr-7")
            publish("in-lane", "pr-7")
            results.wait("in-lane pr-7 pr-7")
        publish("left-behind", "pr-7")
        time.sleep(1)
        write_map(lanes, [])
        results.wait("left-behind pr-7 stable", timeout=70)
        publish("after", "pr-7")
        results.wait("after pr-7 stable")
    assert sorted(results.handled()) == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS)
def test_a_restarted_stable_consumer_takes_over_a_lane_that_left_before_it_started(
    client: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A lane topic's leftover records are handled once, by a stable that never saw the lane."""
    topic, lanes, results, env = _setup(kafka_bootstrap, tmp_path, client)
    write_map(lanes, ["pr-7"])
    with running(WORKER, env, results, None):
        with lanectx.use_lane("pr-7"):
            produce(client, kafka_bootstrap, topic, [(b"left-behind", None)])
        # stable moved it to the lane's topic (read here in a group of the test's own)
        moved = consume("confluent", kafka_bootstrap, f"{topic}-pr-7", 1, timeout=20)
        assert [value for value, _, _ in moved] == [b"left-behind"]
    write_map(lanes, [])  # the lane leaves while no stable consumer runs
    with running(WORKER, env, results, None):
        results.wait("left-behind pr-7 stable", timeout=40)
        with lanectx.use_lane("pr-7"):
            produce(client, kafka_bootstrap, topic, [(b"after", None)])
        results.wait("after pr-7 stable")
    assert sorted(results.handled()) == ["after pr-7 stable", "left-behind pr-7 stable"]


@pytest.mark.slow
def test_a_record_in_hand_when_stable_is_killed_is_delivered_again(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGKILL while a departed lane's record is being handled: the next stable handles it again."""
    topic, lanes, results, env = _setup(kafka_bootstrap, tmp_path, "confluent")
    write_map(lanes, ["pr-7"])
    with running(WORKER, {**env, "TEST_HOLD": "1"}, results, None) as stable:
        with lanectx.use_lane("pr-7"):
            produce("confluent", kafka_bootstrap, topic, [(b"hold-1", None)])
        moved = consume("confluent", kafka_bootstrap, f"{topic}-pr-7", 1, timeout=20)
        assert [value for value, _, _ in moved] == [b"hold-1"]
        write_map(lanes, [])  # stable takes the lane's topic over and starts handling hold-1
        results.wait("begin hold-1", timeout=40)
        stable.kill()
        stable.wait(10)
    with running(WORKER, env, results, None):  # not committed: delivered again, from the start
        results.wait("hold-1 pr-7 stable", timeout=40)
    assert results.handled() == ["begin hold-1", "hold-1 pr-7 stable"]


@pytest.mark.slow
@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "batches"])
def test_stable_takes_over_a_lane_whose_consumer_vanished(
    batch: bool, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """kafka-python: the lane's consumer is killed (never seen leaving), then the lane leaves
    the map; stable still joins the lane's group, once the dead member's session is out."""
    topic, lanes, results, env = _setup(kafka_bootstrap, tmp_path, "kafka-python", batch)
    write_map(lanes, ["pr-7"])
    with running(WORKER, env, results, None):
        with running(WORKER, env, results, "pr-7") as lane:
            lane.kill()  # no LeaveGroup: the broker waits out its session (6 s)
            lane.wait(10)
        with lanectx.use_lane("pr-7"):
            produce("kafka-python", kafka_bootstrap, topic, [(b"orphan", None)])
        time.sleep(1)  # stable moves it to the lane's topic
        write_map(lanes, [])
        results.wait("orphan pr-7 stable", timeout=60)
    assert results.handled() == ["orphan pr-7 stable"]
