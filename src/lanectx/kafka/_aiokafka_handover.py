"""aiokafka: lane topics and the stable side's handover, the asyncio form of `Handover`.

The design and the decisions are those of _handover (see docs/queues.md); only the
client calls differ, and they are coroutines here.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from .._context import use_lane
from .._messages import ConsumerLanes, message_lane
from .._names import lane_name
from ..lanemap import lane_map
from ._handover import CHECK_INTERVAL, DISCOVER_INTERVAL, topic_lanes

__all__ = ["AsyncHandover"]

logger = logging.getLogger("lanectx")

_PRODUCER_ARGS = frozenset(inspect.signature(AIOKafkaProducer.__init__).parameters) - {
    "self",
    "key_serializer",
    "value_serializer",
    "loop",
}


class AsyncHandover:
    """The lane topics of one AIOKafkaConsumer, and the stable side's handover."""

    def __init__(self, lanes: ConsumerLanes, conf: dict[str, Any], raw: dict[str, Any]) -> None:
        self.lanes = lanes
        self.conf = conf
        self.raw = raw  # the unpatched AIOKafkaConsumer methods
        self.topics: list[str] = []
        self.producer: Any = None
        self.drains: dict[str, Any] = {}
        self.known: set[str] = set()
        self.taken: tuple[Any, Any] | None = None
        self.next_check = 0.0
        self.next_discovery = 0.0
        self.deserializers: tuple[Any, Any] = (None, None)
        if self.stable_side:  # moved records must keep their bytes
            self.deserializers = (
                conf.pop("key_deserializer", None),
                conf.pop("value_deserializer", None),
            )

    @property
    def stable_side(self) -> bool:
        """True for a stable consumer with a service name: it moves and takes lanes' records."""
        return self.lanes.own is None and self.lanes.service is not None

    def subscription(self, topics: Sequence[str]) -> list[str]:
        """Return the topics to subscribe to in place of *topics* (the lane's, in a lane)."""
        self.topics = list(topics)
        own = self.lanes.own
        return self.topics if own is None else [lane_name(t, own) for t in self.topics]

    async def create_lane_topics(self) -> None:
        """Create this lane's topics through a producer's metadata request (see _handover)."""
        own = self.lanes.own
        for topic in self.topics if own is not None else ():
            try:
                await (await self._producer()).partitions_for(lane_name(topic, own))
            except Exception as err:
                logger.warning("lanectx: lane topic of %s not created: %s", topic, err)

    def restore(self, record: Any) -> Any:
        """Return *record* with the consumer's own deserializers applied."""
        key_of, value_of = self.deserializers
        if key_of is None and value_of is None:
            return record
        key = key_of(record.key) if key_of and record.key is not None else record.key
        value = value_of(record.value) if value_of and record.value is not None else record.value
        return dataclasses.replace(record, key=key, value=value)

    async def _producer(self) -> Any:
        if self.producer is None:
            conf = {k: v for k, v in self.conf.items() if k in _PRODUCER_ARGS}
            self.producer = AIOKafkaProducer(**conf, acks="all")
            await self.producer.start()
        return self.producer

    async def move(self, record: Any, lane: str) -> None:
        """Produce *record* to *lane*'s topic and wait until the broker has it."""
        self.known.add(lane)
        producer = await self._producer()
        with use_lane(lane, self.lanes.config):  # the record's own lane headers, once
            await producer.send_and_wait(
                lane_name(record.topic, lane),
                record.value,
                key=record.key,
                headers=list(record.headers or ()),
            )

    async def settle(self) -> None:
        """Commit the record taken from a lane's topic last (it has been handled)."""
        taken, self.taken = self.taken, None
        if taken is not None:
            drain, record = taken
            tp = TopicPartition(record.topic, record.partition)
            await drain.commit({tp: record.offset + 1})

    async def take(self) -> Any:
        """Return a record from a departed lane's topics, if one is waiting (stable side)."""
        if not self.stable_side:
            return None
        if time.monotonic() >= self.next_check:
            self.next_check = time.monotonic() + CHECK_INTERVAL
            await self._check()
        for lane, drain in self.drains.items():
            batches = await self.raw["getmany"](drain, timeout_ms=100, max_records=1)
            for records in batches.values():
                for record in records:
                    self.taken = (drain, record)
                    if message_lane(self.lanes.config, record.headers) != lane:
                        await self.settle()  # not a lane topic's record: not ours to handle
                        continue
                    self.lanes.enter(lane)
                    return self.restore(record)
        return None

    async def _check(self) -> None:
        service = self.lanes.service
        if service is None or not self.topics:
            return
        listed = lane_map(self.lanes.config).lanes(service)
        self.known |= listed
        if time.monotonic() >= self.next_discovery:  # lanes that left before this started
            self.next_discovery = time.monotonic() + DISCOVER_INTERVAL
            try:
                cluster = await (await self._producer()).client.fetch_all_metadata()
                self.known |= topic_lanes(cluster.topics(), self.topics)
            except Exception as err:
                logger.warning("lanectx: could not list the lane topics: %s", err)
        for lane in sorted(self.known - listed - set(self.drains)):
            group = self.conf.get("group_id")
            conf = {**self.conf, "auto_offset_reset": "earliest", "enable_auto_commit": False}
            conf["group_id"] = lane_name(group, lane) if group else group
            drain = AIOKafkaConsumer.__new__(AIOKafkaConsumer)
            self.raw["__init__"](drain, *[lane_name(t, lane) for t in self.topics], **conf)
            await self.raw["start"](drain)
            self.drains[lane] = drain
        for lane in sorted(listed & set(self.drains)):
            await self.settle()
            await self.raw["stop"](self.drains.pop(lane))

    async def close(self) -> None:
        """Commit what was handled, leave the lanes' groups, flush moved records."""
        await self.settle()
        for drain in self.drains.values():
            await self.raw["stop"](drain)
        self.drains.clear()
        if self.producer is not None:
            await self.producer.stop()
