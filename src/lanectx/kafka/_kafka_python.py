"""kafka-python: `KafkaProducer.send`, and `KafkaConsumer` construction, subscription,
iteration, poll and close (lane topics and the stable side's handover, see _handover)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from .._config import LaneConfig
from .._messages import ConsumerLanes, message_lane
from .._names import lane_name
from .._patch import patch
from ._handover import CHECK_INTERVAL, Handover
from ._lanes import filter_batches, lanes_of, with_lane

__all__: list[str] = []

_SERIALIZED = ("key_serializer", "value_serializer")
_JOIN_WAIT = 5.0  # seconds a call may wait for a departed lane's group to be joined


def _deserialize(deserializer: Any, topic: str, data: Any) -> Any:
    if deserializer is None or data is None:
        return data
    if hasattr(deserializer, "deserialize"):
        return deserializer.deserialize(topic, data)
    return deserializer(data)


class _Handover(Handover):
    """The handover for kafka-python; a stable side reads raw bytes and deserializes itself."""

    def __init__(self, lanes: ConsumerLanes, conf: dict[str, Any], raw: tuple[Any, Any]) -> None:
        super().__init__(lanes, conf, (KafkaProducer, KafkaConsumer))
        self.raw_init, self.raw_poll = raw
        self.deserializers: tuple[Any, Any] = (None, None)
        if self.stable_side:  # moved records must keep their bytes
            keys = conf.pop("key_deserializer", None), conf.pop("value_deserializer", None)
            self.deserializers = keys

    def restore(self, record: Any) -> Any:
        """Return *record* with the consumer's own deserializers applied."""
        key_of, value_of = self.deserializers
        if key_of is None and value_of is None:
            return record
        key = _deserialize(key_of, record.topic, record.key)
        return record._replace(key=key, value=_deserialize(value_of, record.topic, record.value))

    def _new_producer(self) -> Any:
        conf = {k: v for k, v in self.conf.items() if k in KafkaProducer.DEFAULT_CONFIG}
        return KafkaProducer(**{k: v for k, v in conf.items() if k not in _SERIALIZED}, acks="all")

    def _ensure_topic(self, producer: Any, topic: str) -> None:
        producer.partitions_for(topic)

    def _topic_names(self) -> Iterable[str]:
        conf = {k: v for k, v in self.conf.items() if k != "group_id"}
        conf["enable_auto_commit"] = False  # no group: nothing to commit (and no warning)
        reader = KafkaConsumer.__new__(KafkaConsumer)
        self.raw_init(reader, **conf)
        try:
            return list(reader.topics())
        finally:
            reader.close()

    def _send(self, producer: Any, topic: str, key: Any, value: Any, headers: Any) -> None:
        producer.send(topic, value=value, key=key, headers=list(headers or ())).get(timeout=30)

    def _parts(self, record: Any) -> tuple[str, Any, Any, Any]:
        return record.topic, record.key, record.value, record.headers

    def _new_drain(self, lane: str, topics: list[str]) -> Any:
        group = self.conf.get("group_id")
        conf = {**self.conf, "auto_offset_reset": "earliest", "enable_auto_commit": False}
        conf["group_id"] = lane_name(group, lane) if group else group
        drain = KafkaConsumer.__new__(KafkaConsumer)
        self.raw_init(drain, *topics, **conf)
        return drain

    def _poll_drain(self, drain: Any) -> Any:
        # kafka-python joins a group only while a poll waits, and a join that completes
        # between two polls is dropped and started again: until the drain has its
        # partitions, poll it back to back (up to _JOIN_WAIT), then briefly.
        deadline = time.monotonic() + (0.0 if drain.assignment() else _JOIN_WAIT)
        while True:
            for records in self.raw_poll(drain, timeout_ms=300, max_records=1).values():
                for record in records:
                    return record
            if drain.assignment() or time.monotonic() >= deadline:
                return None

    def _commit(self, drain: Any, record: Any) -> None:
        offset = OffsetAndMetadata(record.offset + 1, "", -1)
        drain.commit({TopicPartition(record.topic, record.partition): offset})

    def _close_producer(self, producer: Any) -> None:
        producer.flush(30)
        producer.close(5)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch kafka-python's producer and consumer; return the undo."""
    raw = (KafkaConsumer.__init__, KafkaConsumer.poll)

    def make_send(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
            if switch.on:
                args = with_lane(config, 2, args, kwargs)
            return original(self, topic, *args, **kwargs)

        return send

    def make_init(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def init(self: Any, *topics: Any, **configs: Any) -> None:
            if switch.on:
                lanes = self._lanectx = ConsumerLanes(config)
                handover = self._lanectx_handover = _Handover(lanes, dict(configs), raw)
                configs = {**handover.conf}
                if lanes.own is not None and configs.get("group_id"):
                    configs["group_id"] = lanes.group(configs["group_id"])
                    configs["auto_offset_reset"] = "earliest"
                topics = tuple(handover.subscription(topics)) if topics else ()
            original(self, *topics, **configs)

        return init

    def make_subscribe(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def subscribe(self: Any, topics: Any = (), *args: Any, **kwargs: Any) -> Any:
            handover: _Handover | None = getattr(self, "_lanectx_handover", None)
            if switch.on and handover is not None and topics:
                topics = handover.subscription(list(topics))
            return original(self, topics, *args, **kwargs)

        return subscribe

    def joined(self: Any) -> bool:
        # A group join of this consumer that completes while a drain is polled is
        # dropped (see _poll_drain): departed lanes wait until this one has partitions.
        return bool(self.assignment())

    def take_one(self: Any, handover: _Handover, lanes: ConsumerLanes) -> Any:
        timeout = self.config.get("consumer_timeout_ms", -1)
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            taken = handover.take() if joined(self) else None
            if taken is not None:
                return handover.restore(taken)
            wait = (
                CHECK_INTERVAL
                if deadline is None
                else min(CHECK_INTERVAL, deadline - time.monotonic())
            )
            for records in raw[1](
                self, timeout_ms=max(0, int(wait * 1000)), max_records=1
            ).values():
                for record in records:
                    lane = message_lane(config, record.headers)
                    if lanes.handles(lane):
                        lanes.enter(lane)
                        return handover.restore(record)
                    if lane is not None:
                        handover.move(record, lane)
            if deadline is not None and time.monotonic() >= deadline:
                raise StopIteration

    def make_next(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def next_record(self: Any) -> Any:
            if not switch.on:
                return original(self)
            lanes = lanes_of(self, config)
            lanes.leave()
            handover: _Handover | None = getattr(self, "_lanectx_handover", None)
            if handover is not None and handover.stable_side:
                handover.settle()
                return take_one(self, handover, lanes)
            while True:
                record = original(self)
                if lanes.accept(record.headers):
                    return record

        return next_record

    def make_poll(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def poll(self: Any, *args: Any, **kwargs: Any) -> Any:
            batches = original(self, *args, **kwargs)
            # Iteration polls with update_offsets=False and moves positions itself, per
            # record it yields: it is filtered in __next__, record by record.
            if not switch.on or kwargs.get("update_offsets", True) is False:
                return batches
            handover: _Handover | None = getattr(self, "_lanectx_handover", None)
            if handover is not None:
                handover.settle()
            kept = filter_batches(lanes_of(self, config), batches, handover)
            if handover is None:
                return kept
            restored = {tp: [handover.restore(r) for r in records] for tp, records in kept.items()}
            # one record of a departed lane's topics, if any
            taken = handover.take() if joined(self) else None
            lanes_of(self, config).leave()
            if taken is not None:
                restored.setdefault(TopicPartition(taken.topic, taken.partition), []).append(
                    handover.restore(taken)
                )
            return restored

        return poll

    def make_close(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def close(self: Any, *args: Any, **kwargs: Any) -> Any:
            handover: _Handover | None = getattr(self, "_lanectx_handover", None)
            if handover is not None:
                handover.close()
            return original(self, *args, **kwargs)

        return close

    undo = [
        patch(KafkaProducer, "send", make_send),
        patch(KafkaConsumer, "__init__", make_init),
        patch(KafkaConsumer, "subscribe", make_subscribe),
        patch(KafkaConsumer, "__next__", make_next),
        patch(KafkaConsumer, "poll", make_poll),
        patch(KafkaConsumer, "close", make_close),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
