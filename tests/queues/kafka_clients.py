"""The three Kafka clients behind one small interface, for tests against the mock cluster."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import lanectx

# (value, the lane current while the record was in hand, the record's headers)
Seen = tuple[bytes, "str | None", list[tuple[str, "bytes | None"]]]
CLIENTS = ("confluent", "aiokafka", "kafka-python")


def new_topic() -> str:
    """A topic name of its own for one test."""
    return f"t-{uuid.uuid4().hex[:12]}"


def produce(client: str, bootstrap: str, topic: str, records: Sequence[tuple[bytes, Any]]) -> None:
    """Produce (value, headers) records with *client*, in the current context."""
    if client == "confluent":
        import confluent_kafka

        producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
        for value, headers in records:
            producer.produce(topic, value, headers=headers)
        assert producer.flush(10) == 0
    elif client == "kafka-python":
        from kafka import KafkaProducer

        sync = KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 0))
        for value, headers in records:
            sync.send(topic, value, headers=headers)
        sync.flush(10)
        sync.close(5)
    else:
        from aiokafka import AIOKafkaProducer

        async def run() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                for value, headers in records:
                    await producer.send_and_wait(topic, value, headers=headers)
            finally:
                await producer.stop()

        asyncio.run(run())


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    return [(name, None if value is None else bytes(value)) for name, value in (raw or ())]


def consume(
    client: str,
    bootstrap: str,
    topic: str,
    count: int,
    group: str | None = None,
    timeout: float = 15.0,
    check: Callable[[], None] | None = None,
) -> list[Seen]:
    """Consume until *count* records came (or *timeout*), recording each one's current lane.

    The lane is read right after the call returns and again just before the next
    call, so a test sees what is current for the whole time the record is in hand.
    *check* runs between records (e.g. to assert nothing leaked).
    """
    group = group or f"g-{uuid.uuid4().hex[:8]}"
    seen: list[Seen] = []
    deadline = time.monotonic() + timeout

    def record(value: bytes, headers: Any) -> None:
        lane = lanectx.current_lane()
        assert lanectx.current_lane() == lane
        seen.append((value, lane, _headers(headers)))

    if client == "confluent":
        import confluent_kafka

        consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
        )
        consumer.subscribe([topic])
        try:
            while len(seen) < count and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is not None and message.error() is None:
                    record(message.value(), message.headers())
        finally:
            consumer.close()
    elif client == "kafka-python":
        from kafka import KafkaConsumer

        sync = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            api_version=(2, 0),
            auto_offset_reset="earliest",
            consumer_timeout_ms=int(timeout * 1000),
        )
        try:
            for item in sync:
                record(item.value, item.headers)
                if len(seen) >= count or time.monotonic() > deadline:
                    break
        finally:
            sync.close()
    else:
        from aiokafka import AIOKafkaConsumer

        async def run() -> None:
            consumer = AIOKafkaConsumer(
                topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest"
            )
            await consumer.start()

            async def take() -> None:
                async for item in consumer:  # __anext__ awaits getone in this task
                    record(item.value, item.headers)
                    if len(seen) >= count:
                        return

            try:
                await asyncio.wait_for(take(), timeout)
            except asyncio.TimeoutError:
                pass
            finally:
                await consumer.stop()

        asyncio.run(run())
    return seen
