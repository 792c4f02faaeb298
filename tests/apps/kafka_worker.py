"""A Kafka consumer for isolation tests: writes "<value> <lane> <side>" per record handled.

TEST_CLIENT=confluent|kafka-python|aiokafka TEST_BOOTSTRAP=127.0.0.1:9092 TEST_TOPIC=t \
TEST_RESULTS=/tmp/r LANE_ID=pr-7 python tests/apps/kafka_worker.py   # SIGTERM: graceful stop

TEST_GROUP names the consumer group (default ``notifier``); each test gives its own, so
a member a test killed is not still in the group the next test joins.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import lanectx
import lanectx.kafka

if os.environ.get("TEST_DEBUG"):
    import logging

    logging.basicConfig(level=logging.INFO)
lanectx.instrument()  # before the clients are created, as docs/queues.md says

SIDE = os.environ.get("LANE_ID") or "stable"
RESULTS = os.environ["TEST_RESULTS"]
BOOTSTRAP, TOPIC = os.environ["TEST_BOOTSTRAP"], os.environ["TEST_TOPIC"]
GROUP = os.environ.get("TEST_GROUP", "notifier")
BATCH = os.environ.get("TEST_BATCH") == "1"  # the batch calls: consume / poll / getmany
stopping = False


def _write(line: str) -> None:
    with open(RESULTS, "a") as file:
        file.write(line + "\n")


def _handle(value: str, lane: str | None) -> None:
    """Record one handled record; with TEST_HOLD a "hold-" one waits first (to be killed)."""
    if value.startswith("hold-") and os.environ.get("TEST_HOLD"):
        _write(f"begin {value}")
        time.sleep(60)
    _write(f"{value} {lane} {SIDE}")


def _stop(*_: Any) -> None:
    global stopping
    stopping = True


def run_confluent() -> None:
    """Poll until SIGTERM, then close (commit and leave the group)."""
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": GROUP,
            "auto.offset.reset": "earliest",
            # a member gone without leaving is noticed sooner (the mock may not see it leave)
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([TOPIC], on_assign=lambda *_: _write(f"ready - {SIDE}"))
    try:
        while not stopping:
            messages = consumer.consume(10, 0.2) if BATCH else [consumer.poll(0.2)]
            for message in messages:
                if message is not None and message.error() is None:
                    _handle(message.value().decode(), _lane(message))
    finally:
        consumer.close()


def _lane(record: Any) -> str | None:
    """The record's lane: current after a single-record call, read from it after a batch."""
    return lanectx.kafka.record_lane(record) if BATCH else lanectx.current_lane()


def run_kafka_python() -> None:
    """Iterate until SIGTERM, then close; values go through a deserializer of our own."""
    from kafka import ConsumerRebalanceListener, KafkaConsumer

    class Ready(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_assigned(self, assigned: Any) -> None:
            _write(f"ready - {SIDE}")

        def on_partitions_revoked(self, revoked: Any) -> None:
            pass

    consumer = KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        group_id=GROUP,
        auto_offset_reset="earliest",
        api_version=(2, 0),
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        consumer_timeout_ms=200,
        value_deserializer=bytes.decode,
    )
    consumer.subscribe([TOPIC], listener=Ready())
    try:
        while not stopping:
            if BATCH:
                for records in consumer.poll(timeout_ms=200, max_records=10).values():
                    for record in records:
                        _write(f"{record.value} {_lane(record)} {SIDE}")
                continue
            for record in consumer:
                _write(f"{record.value} {_lane(record)} {SIDE}")
                if stopping:
                    break
    finally:
        consumer.close()


def run_aiokafka() -> None:
    """``async for`` until SIGTERM, then stop; values go through a deserializer of our own."""
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from aiokafka.abc import ConsumerRebalanceListener

    class Ready(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_assigned(self, assigned: Any) -> None:
            _write(f"ready - {SIDE}")

        async def on_partitions_revoked(self, revoked: Any) -> None:
            pass

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=BOOTSTRAP,
            group_id=GROUP,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
            value_deserializer=bytes.decode,
        )
        consumer.subscribe([TOPIC], listener=Ready())
        await consumer.start()

        async def handle() -> None:
            if BATCH:
                while True:
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        for record in records:
                            _write(f"{record.value} {_lane(record)} {SIDE}")
            async for record in consumer:
                _write(f"{record.value} {_lane(record)} {SIDE}")

        task = asyncio.ensure_future(handle())
        while not stopping:
            await asyncio.sleep(0.1)
        task.cancel()
        await consumer.stop()

    asyncio.run(run())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    runners = {"confluent": run_confluent, "kafka-python": run_kafka_python}
    runners["aiokafka"] = run_aiokafka
    runners[os.environ["TEST_CLIENT"]]()
