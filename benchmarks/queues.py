"""Queues: the per-message cost of lanectx's hooks, and 10,000 messages split between two sides.

    python benchmarks/queues.py [--quick]

1. Hooks alone, per library: each patched produce / consume method is first replaced
   by one that returns at once (a prepared record), then ``lanectx.instrument()`` wraps
   it exactly as it wraps the real one; a call through the wrapper is timed against a
   call of the bare method, rounds interleaved, with lane ``pr-123`` current (produce)
   or on the record (consume). Celery: the ``before_task_publish`` and
   ``task_prerun``/``task_postrun`` signals sent with and without lanectx's receivers.
   Process CPU µs per message, median of rounds. Target: ≤ +3 µs per message.
2. Isolation: N messages (a third without a lane, a third of lane pr-1, which the lane
   map lists for the service, a third of pr-2, which it does not) produced with
   confluent-kafka to librdkafka's mock cluster and consumed by a stable and a pr-1
   consumer polled in turn. Target: 0 lost, 0 handled twice, 0 on the wrong side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _bench import interleave, spread, summary, verdict

import lanectx

HEADERS = [("x-lane-id", b"pr-123"), ("baggage", b"lane=pr-123")]
TARGET = 3.0


class _Record:
    headers = HEADERS

    def error(self) -> None:
        return None


class _Message(_Record):
    def headers(self) -> list[tuple[str, bytes]]:  # type: ignore[override]
        return HEADERS


def _per_call(call: Callable[[], Any], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - started) / count * 1e6


def _kafka_python_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    from kafka import KafkaConsumer, KafkaProducer

    record = _Record()
    KafkaProducer.send = lambda self, topic, *a, **k: None  # type: ignore[method-assign]
    KafkaConsumer.__next__ = lambda self: record  # type: ignore[method-assign]
    bare_send, bare_next = KafkaProducer.send, KafkaConsumer.__next__
    producer, consumer = SimpleNamespace(), SimpleNamespace()  # only `self` of the methods
    lanectx.instrument()
    return {
        "kafka-python send": (
            lambda: bare_send(producer, "t", b"v", headers=None),
            lambda: KafkaProducer.send(producer, "t", b"v", headers=None),
        ),
        "kafka-python next": (
            lambda: bare_next(consumer),
            lambda: KafkaConsumer.__next__(consumer),
        ),
    }


def _aiokafka_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    record = _Record()

    async def send(self: Any, topic: str, *a: Any, **k: Any) -> None:
        return None

    async def getone(self: Any, *partitions: Any) -> Any:
        return record

    AIOKafkaProducer.send, AIOKafkaConsumer.getone = send, getone  # type: ignore[method-assign]
    producer, consumer = SimpleNamespace(), SimpleNamespace()
    lanectx.instrument()

    def drive(coroutine: Callable[[], Any]) -> Callable[[], Any]:
        def step() -> None:
            with contextlib.suppress(StopIteration):
                coroutine().send(None)

        return step

    return {
        "aiokafka send": (
            drive(lambda: send(producer, "t", b"v")),
            drive(lambda: AIOKafkaProducer.send(producer, "t", b"v")),
        ),
        "aiokafka getone": (
            drive(lambda: getone(consumer)),
            drive(lambda: AIOKafkaConsumer.getone(consumer)),
        ),
    }


def _confluent_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import confluent_kafka

    message = _Message()

    class Producer:
        def produce(self, topic: str, *a: Any, **k: Any) -> None:
            return None

    class Consumer:
        def __init__(self, *a: Any, **k: Any) -> None:
            pass

        def poll(self, timeout: float | None = None) -> Any:
            return message

    real = confluent_kafka.Producer, confluent_kafka.Consumer
    module: Any = confluent_kafka
    module.Producer, module.Consumer = Producer, Consumer
    lanectx.instrument()
    ours_p, ours_c = module.Producer(), module.Consumer({})
    bare_p, bare_c = Producer(), Consumer()
    module.Producer, module.Consumer = real
    return {
        "confluent produce": (lambda: bare_p.produce("t", b"v"), lambda: ours_p.produce("t", b"v")),
        "confluent poll": (lambda: bare_c.poll(0), lambda: ours_c.poll(0)),
    }


def _celery_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    from celery import signals
    from celery.app.task import Context

    class Task:
        request = Context({"x-lane-id": "pr-123", "baggage": "lane=pr-123"})

    task = Task()

    def publish() -> None:
        signals.before_task_publish.send(sender="t", headers={"id": "1"}, body=())

    def run() -> None:
        signals.task_prerun.send(sender=task, task_id="1", task=task)
        signals.task_postrun.send(sender=task, task_id="1", task=task)

    return {"celery publish": (publish, publish), "celery run": (run, run)}


def hooks(rounds: int, count: int) -> None:
    """Print the table of per-message hook costs."""
    print("| hook | bare µs | with lanectx µs | added µs (range) | ≤ +3 µs |")
    print("|---|---|---|---|---|")
    for build in (_kafka_python_cases, _aiokafka_cases, _confluent_cases, _celery_cases):
        lanectx.uninstrument()
        cases = build()
        celery = build is _celery_cases  # the same call, without and with our receivers

        def run(
            which: str, bare: Callable[[], Any], ours: Callable[[], Any], celery: bool = celery
        ) -> float:
            if celery and lanectx.is_instrumented() != (which == "ours"):
                lanectx.instrument() if which == "ours" else lanectx.uninstrument()
            return _per_call(bare if which == "bare" else ours, count)

        for name, (bare, ours) in cases.items():
            with lanectx.use_lane("pr-123"):
                samples = interleave(
                    ["bare", "ours"], rounds, lambda which, b=bare, o=ours: run(which, b, o)
                )
            added = [o - b for o, b in zip(samples["ours"], samples["bare"], strict=True)]
            median_added = summary(added)[0]
            print(
                f"| {name} | {summary(samples['bare'])[0]:.2f} | {summary(samples['ours'])[0]:.2f}"
                f" | {median_added:+.2f} ({spread(added)}) | {verdict(median_added <= TARGET)} |"
            )
        lanectx.uninstrument()


def isolation(total: int) -> None:
    """Print the table of the mixed-lane run through a stable and a lane consumer."""
    import confluent_kafka

    with tempfile.TemporaryDirectory() as scratch:
        lanes = Path(scratch) / "lanes.json"
        lanes.write_text(json.dumps({"services": {"notifier": ["pr-1"]}}))
        os.environ.update(LANECTX_SERVICE="notifier", LANECTX_LANE_MAP=str(lanes))
        os.environ.pop("LANE_ID", None)
        lanectx.instrument()
        holder = confluent_kafka.Producer({"test.mock.num.brokers": 1})
        bootstrap = _mock_bootstrap(holder)
        topic = f"bench-{random.randrange(1 << 30)}"
        producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
        producer.list_topics(topic, timeout=10)
        kinds = [None, "pr-1", "pr-2"]
        sent = {}
        for number in range(total):
            lane = kinds[number % 3]
            with lanectx.use_lane(lane):
                producer.produce(topic, str(number).encode())
            sent[str(number)] = lane
        producer.flush(30)
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": "notifier",
            "auto.offset.reset": "earliest",
        }
        stable = confluent_kafka.Consumer(conf)
        os.environ["LANE_ID"] = "pr-1"
        lane_side = confluent_kafka.Consumer(conf)
        del os.environ["LANE_ID"]
        stable.subscribe([topic])
        lane_side.subscribe([topic])
        handled: dict[str, list[str]] = {}
        started = time.monotonic()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 10 and sum(map(len, handled.values())) < total:
            for side, consumer in (("stable", stable), ("pr-1", lane_side)):
                message = consumer.poll(0.005)
                if message is not None and message.error() is None:
                    handled.setdefault(message.value().decode(), []).append(side)
                    idle_since = time.monotonic()
        took = time.monotonic() - started
        stable.close()
        lane_side.close()
        lanectx.uninstrument()
        del holder
    lost = sum(1 for key in sent if key not in handled)
    twice = sum(1 for sides in handled.values() if len(sides) > 1)
    wrong = sum(
        1
        for key, sides in handled.items()
        if sides[0] != ("pr-1" if sent.get(key) == "pr-1" else "stable")
    )
    ok = lost == twice == wrong == 0
    print("| messages | lost | twice | wrong side | seconds | 0 / 0 / 0 |")
    print("|---|---|---|---|---|---|")
    print(f"| {total} | {lost} | {twice} | {wrong} | {took:.1f} | {verdict(ok)} |")


def _mock_bootstrap(holder: Any) -> str:
    """Return the mock cluster's address (librdkafka names it in the client's metadata)."""
    brokers = holder.list_topics(timeout=10).brokers.values()
    return ",".join(f"{b.host}:{b.port}" for b in brokers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        # A stable consumer of a service in the lane map: every record is checked against it.
        lanes = Path(scratch) / "lanes.json"
        lanes.write_text(json.dumps({"services": {"notifier": ["pr-1"]}}))
        os.environ.update(LANECTX_SERVICE="notifier", LANECTX_LANE_MAP=str(lanes))
        os.environ.pop("LANE_ID", None)
        hooks(rounds=3 if args.quick else 15, count=2000 if args.quick else 20000)
    print()
    isolation(300 if args.quick else 10_000)


if __name__ == "__main__":
    main()
