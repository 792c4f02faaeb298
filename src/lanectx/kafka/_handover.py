"""confluent-kafka: lane topics, and the handover of a lane's records between its two sides.

A consumer in lane L joins the group ``<group>-L`` and reads the lane topics
``<topic>-L`` from the start. A stable consumer moves each record of a lane that the
lane map lists for its service to that lane's topic (produced and flushed before the
next record is taken, so committing past it never loses it). Once a second it
compares the map with the lanes it has known: for a lane that left the map it reads
the lane's topics in the lane's own group, so it starts exactly where the lane's
consumer committed, and it stops when the lane comes back. See docs/queues.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from .._messages import ConsumerLanes, message_lane
from .._names import lane_name
from ..lanemap import lane_map

__all__ = ["CHECK_INTERVAL", "LANE_TOPIC_READER", "Handover"]

logger = logging.getLogger("lanectx")

CHECK_INTERVAL = 1.0
# How a consumer reads lane topics: from the start (records moved there before it
# started are its own), creating a lane topic nobody has written to yet.
LANE_TOPIC_READER = {"auto.offset.reset": "earliest", "allow.auto.create.topics": True}
# Settings a forwarding producer shares with the consumer it serves.
_SHARED = ("bootstrap.servers", "security.protocol", "client.id", "logger")
_SHARED_PREFIXES = ("sasl.", "ssl.")


class Handover:
    """The lane topics of one confluent-kafka consumer, and the stable side's handover."""

    def __init__(self, lanes: ConsumerLanes, conf: dict[str, Any], kinds: tuple[Any, Any]) -> None:
        self.lanes = lanes
        self.conf = conf
        self.producer_type, self.consumer_type = kinds
        self.topics: list[str] = []
        self.producer: Any = None
        self.drains: dict[str, Any] = {}  # lane -> a consumer of its topics in its group
        self.known: set[str] = set()
        self.taken: tuple[Any, Any] | None = None  # (drain consumer, record) not yet committed
        self.next_check = 0.0

    @property
    def stable_side(self) -> bool:
        """True for a stable consumer with a service name: it moves and takes lanes' records."""
        return self.lanes.own is None and self.lanes.service is not None

    def subscription(self, topics: Sequence[str]) -> list[str]:
        """Return the topics to subscribe to in place of *topics* (the lane's, in a lane)."""
        self.topics = list(topics)
        own = self.lanes.own
        if own is None:
            return self.topics
        lane_topics = [lane_name(topic, own) for topic in self.topics]
        self._create(lane_topics)
        return lane_topics

    def _shared(self) -> dict[str, Any]:
        conf = self.conf.items()
        return {k: v for k, v in conf if k in _SHARED or k.startswith(_SHARED_PREFIXES)}

    def _producer(self) -> Any:
        if self.producer is None:
            self.producer = self.producer_type({**self._shared(), "enable.idempotence": True})
        return self.producer

    def _create(self, lane_topics: list[str]) -> None:
        """Ask for the lane topics' metadata as a producer, which creates missing topics.

        (A consumer never creates the topics it subscribes to; a lane's topic has no
        record before stable moves one there.) Brokers with topic auto-creation off
        need the lane topics created with the lane.
        """
        for topic in lane_topics:
            try:
                self._producer().list_topics(topic=topic, timeout=10)
            except Exception as err:
                logger.warning("lanectx: lane topic %s not created: %s", topic, err)

    def move(self, message: Any, lane: str) -> None:
        """Produce *message* to *lane*'s topic and wait until the broker has it."""
        if self.producer is None:
            shared = {
                k: v for k, v in self.conf.items() if k in _SHARED or k.startswith(_SHARED_PREFIXES)
            }
            self.producer = self.producer_type({**shared, "enable.idempotence": True})
        self.known.add(lane)
        self.producer.produce(
            lane_name(message.topic(), lane),
            message.value(),
            message.key(),
            headers=message.headers(),
        )
        if self._producer().flush(30) != 0:
            raise RuntimeError(f"lanectx: could not move a record to lane {lane}'s topic")

    def settle(self) -> None:
        """Commit the record taken from a lane's topic last (it has been handled)."""
        taken, self.taken = self.taken, None
        if taken is not None:
            consumer, message = taken
            consumer.commit(message=message, asynchronous=False)

    def take(self) -> Any:
        """Return a record from a departed lane's topics, if one is waiting (stable side)."""
        if not self.stable_side:
            return None
        if time.monotonic() >= self.next_check:
            self.next_check = time.monotonic() + CHECK_INTERVAL
            self._check()
        for consumer in self.drains.values():
            message = consumer.poll(0)
            if message is not None and message.error() is None:
                self.taken = (consumer, message)
                self.lanes.enter(message_lane(self.lanes.config, message.headers()))
                return message
        return None

    def _check(self) -> None:
        service = self.lanes.service
        if service is None or not self.topics:
            return
        listed = lane_map(self.lanes.config).lanes(service)
        self.known |= listed
        for lane in sorted(self.known - listed - set(self.drains)):
            group = self.conf.get("group.id")
            drain = self.consumer_type(
                {
                    **self.conf,
                    "group.id": lane_name(group, lane) if group else group,
                    **LANE_TOPIC_READER,
                    "enable.auto.commit": False,
                }
            )
            drain.subscribe([lane_name(topic, lane) for topic in self.topics])
            self.drains[lane] = drain
        for lane in sorted(listed & set(self.drains)):
            self.settle()
            self.drains.pop(lane).close()

    def close(self) -> None:
        """Commit what was handled, leave the lanes' groups, flush moved records."""
        self.settle()
        for drain in self.drains.values():
            drain.close()
        self.drains.clear()
        if self.producer is not None:
            self.producer.flush(30)
