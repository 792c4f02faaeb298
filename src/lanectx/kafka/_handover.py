"""confluent-kafka: lane topics, and the handover of a lane's records between its two sides.

A consumer in lane L joins the group ``<group>-L`` and reads the lane topics
``<topic>-L`` from the start. A stable consumer moves each record of a lane that the
lane map lists for its service to that lane's topic (produced and flushed before the
next record is taken, so committing past it never loses it). Once a second it
compares the map with the lanes it has known: for a lane that left the map it reads
the lane's topics in the lane's own group, so it starts exactly where the lane's
consumer committed, and it stops when the lane comes back. Lanes that left the map
before it started are found among the cluster's topics (`topic_lanes`), at start and
every `DISCOVER_INTERVAL`. See docs/queues.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .._context import use_lane
from .._lane import is_valid_lane
from .._messages import ConsumerLanes, message_lane
from .._names import lane_name
from ..lanemap import lane_map

__all__ = ["CHECK_INTERVAL", "DISCOVER_INTERVAL", "LANE_TOPIC_READER", "Handover", "topic_lanes"]

logger = logging.getLogger("lanectx")

CHECK_INTERVAL = 1.0
DISCOVER_INTERVAL = 30.0  # seconds between two listings of the cluster's topics
# How a consumer reads lane topics: from the start (records moved there before it
# started are its own), creating a lane topic nobody has written to yet.
LANE_TOPIC_READER = {"auto.offset.reset": "earliest", "allow.auto.create.topics": True}
# Settings a forwarding producer shares with the consumer it serves.
_SHARED = ("bootstrap.servers", "security.protocol", "client.id", "logger")
_SHARED_PREFIXES = ("sasl.", "ssl.")


def topic_lanes(names: Iterable[str], topics: Sequence[str]) -> set[str]:
    """Return the lanes whose topics are among *names*: ``<topic>-<lane>`` for one of *topics*."""
    found = set()
    for name in names:
        for topic in topics:
            lane = name[len(topic) + 1 :]
            if name.startswith(f"{topic}-") and name not in topics and is_valid_lane(lane):
                found.add(lane)
    return found


class Handover:
    """The lane topics of one consumer, and the stable side's handover (confluent-kafka).

    Subclasses adapt the client calls (`_new_producer`, `_send`, `_new_drain`, ...).
    """

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
        self.next_discovery = 0.0

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
        for topic in lane_topics:
            # A consumer never creates the topics it subscribes to, and a lane's topic
            # has no record before stable moves one there: a producer's metadata
            # request creates it (brokers with auto-creation off need it made with the lane).
            try:
                self._ensure_topic(self._producer(), topic)
            except Exception as err:
                logger.warning("lanectx: lane topic %s not created: %s", topic, err)
        return lane_topics

    def _producer(self) -> Any:
        if self.producer is None:
            self.producer = self._new_producer()
        return self.producer

    def move(self, record: Any, lane: str) -> None:
        """Produce *record* to *lane*'s topic and wait until the broker has it."""
        self.known.add(lane)
        topic, key, value, headers = self._parts(record)
        with use_lane(lane, self.lanes.config):  # the record's own lane headers, once
            self._send(self._producer(), lane_name(topic, lane), key, value, headers)

    def settle(self) -> None:
        """Commit the record taken from a lane's topic last (it has been handled)."""
        taken, self.taken = self.taken, None
        if taken is not None:
            self._commit(*taken)

    def take(self) -> Any:
        """Return a record from a departed lane's topics, if one is waiting (stable side)."""
        if not self.stable_side:
            return None
        if time.monotonic() >= self.next_check:
            self.next_check = time.monotonic() + CHECK_INTERVAL
            self._check()
        for lane, consumer in self.drains.items():
            record = self._poll_drain(consumer)
            if record is None:
                continue
            if message_lane(self.lanes.config, self._parts(record)[3]) != lane:
                self._commit(consumer, record)  # not a lane topic's record: not ours to handle
                continue
            self.taken = (consumer, record)
            self.lanes.enter(lane)
            return record
        return None

    def _check(self) -> None:
        service = self.lanes.service
        if service is None or not self.topics:
            return
        listed = lane_map(self.lanes.config).lanes(service)
        self.known |= listed
        if time.monotonic() >= self.next_discovery:
            self.next_discovery = time.monotonic() + DISCOVER_INTERVAL
            try:
                self.known |= topic_lanes(self._topic_names(), self.topics)
            except Exception as err:
                logger.warning("lanectx: could not list the lane topics: %s", err)
        for lane in sorted(self.known - listed - set(self.drains)):
            topics = [lane_name(topic, lane) for topic in self.topics]
            self.drains[lane] = self._new_drain(lane, topics)
        for lane in sorted(listed & set(self.drains)):
            self.settle()
            self._close_drain(self.drains.pop(lane))

    def close(self) -> None:
        """Commit what was handled, leave the lanes' groups, flush moved records."""
        self.settle()
        for drain in self.drains.values():
            self._close_drain(drain)
        self.drains.clear()
        if self.producer is not None:
            self._close_producer(self.producer)

    # confluent-kafka calls; other clients override these.

    def _new_producer(self) -> Any:
        conf = self.conf.items()
        shared = {k: v for k, v in conf if k in _SHARED or k.startswith(_SHARED_PREFIXES)}
        return self.producer_type({**shared, "enable.idempotence": True, "linger.ms": 0})

    def _ensure_topic(self, producer: Any, topic: str) -> None:
        producer.list_topics(topic=topic, timeout=10)

    def _topic_names(self) -> Iterable[str]:
        return list(self._producer().list_topics(timeout=10).topics)

    def _send(self, producer: Any, topic: str, key: Any, value: Any, headers: Any) -> None:
        producer.produce(topic, value, key, headers=headers)
        if producer.flush(30) != 0:
            raise RuntimeError(f"lanectx: could not move a record to {topic}")

    def _parts(self, record: Any) -> tuple[str, Any, Any, Any]:
        return record.topic(), record.key(), record.value(), record.headers()

    def _new_drain(self, lane: str, topics: list[str]) -> Any:
        group = self.conf.get("group.id")
        drain = self.consumer_type(
            {
                **self.conf,
                "group.id": lane_name(group, lane) if group else group,
                **LANE_TOPIC_READER,
                "enable.auto.commit": False,
            }
        )
        drain.subscribe(topics)
        return drain

    def _poll_drain(self, drain: Any) -> Any:
        message = drain.poll(0)
        return message if message is not None and message.error() is None else None

    def _commit(self, drain: Any, record: Any) -> None:
        drain.commit(message=record, asynchronous=False)

    def _close_drain(self, drain: Any) -> None:
        drain.close()

    def _close_producer(self, producer: Any) -> None:
        producer.flush(30)
