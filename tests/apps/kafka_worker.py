"""A Kafka consumer for isolation tests: writes "<value> <lane> <side>" per record handled.

TEST_CLIENT=confluent|kafka-python|aiokafka TEST_BOOTSTRAP=127.0.0.1:9092 TEST_TOPIC=t \
TEST_RESULTS=/tmp/r LANE_ID=pr-7 python tests/apps/kafka_worker.py   # SIGTERM: graceful stop
"""

from __future__ import annotations

import os
import signal
from typing import Any

import lanectx

lanectx.instrument()  # before the clients are created, as docs/queues.md says

SIDE = os.environ.get("LANE_ID") or "stable"
RESULTS = os.environ["TEST_RESULTS"]
BOOTSTRAP, TOPIC = os.environ["TEST_BOOTSTRAP"], os.environ["TEST_TOPIC"]
stopping = False


def _write(line: str) -> None:
    with open(RESULTS, "a") as file:
        file.write(line + "\n")


def _stop(*_: Any) -> None:
    global stopping
    stopping = True


def run_confluent() -> None:
    """Poll until SIGTERM, then close (commit and leave the group)."""
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": "notifier",
            "auto.offset.reset": "earliest",
            # a member gone without leaving is noticed sooner (the mock may not see it leave)
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([TOPIC], on_assign=lambda *_: _write(f"ready - {SIDE}"))
    try:
        while not stopping:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                _write(f"{message.value().decode()} {lanectx.current_lane()} {SIDE}")
    finally:
        consumer.close()


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
        group_id="notifier",
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
            for record in consumer:
                _write(f"{record.value} {lanectx.current_lane()} {SIDE}")
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
            group_id="notifier",
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
            value_deserializer=bytes.decode,
        )
        consumer.subscribe([TOPIC], listener=Ready())
        await consumer.start()

        async def handle() -> None:
            async for record in consumer:
                _write(f"{record.value} {lanectx.current_lane()} {SIDE}")

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
