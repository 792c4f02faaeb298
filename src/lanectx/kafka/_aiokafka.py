"""aiokafka: `AIOKafkaProducer.send`, and `AIOKafkaConsumer` construction, subscription,
start / stop, getone (and so ``async for``) and getmany.

Lane topics are created at ``start()``: pass the topics to the constructor or call
``subscribe`` before ``start``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from .._config import LaneConfig
from .._messages import ConsumerLanes, message_lane
from .._patch import patch
from ._aiokafka_handover import AsyncHandover
from ._handover import CHECK_INTERVAL
from ._lanes import lanes_of, with_lane

__all__: list[str] = []

_RAW = ("__init__", "start", "stop", "getmany")


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch aiokafka's producer and consumer; return the undo."""
    raw = {name: getattr(AIOKafkaConsumer, name) for name in _RAW}

    def handover_of(consumer: Any) -> AsyncHandover | None:
        return getattr(consumer, "_lanectx_handover", None)

    async def keep(consumer: Any, lanes: ConsumerLanes, record: Any) -> tuple[bool, str | None]:
        """Decide one record: (True, its lane) to return it; a listed lane's record is moved."""
        lane = message_lane(config, record.headers)
        if lanes.handles(lane):
            return True, lane
        handover = handover_of(consumer)
        if handover is not None and handover.stable_side and lane is not None:
            await handover.move(record, lane)
        return False, lane

    def make_send(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
            if switch.on:
                args = with_lane(config, 4, args, kwargs)
            return await original(self, topic, *args, **kwargs)

        return send

    def make_init(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def init(self: Any, *topics: Any, **kwargs: Any) -> None:
            if switch.on:
                lanes = self._lanectx = ConsumerLanes(config)
                handover = self._lanectx_handover = AsyncHandover(lanes, dict(kwargs), raw)
                kwargs = {**handover.conf}
                if lanes.own is not None and kwargs.get("group_id"):
                    kwargs["group_id"] = lanes.group(kwargs["group_id"])
                    kwargs["auto_offset_reset"] = "earliest"
                topics = tuple(handover.subscription(topics)) if topics else ()
            original(self, *topics, **kwargs)

        return init

    def make_subscribe(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def subscribe(self: Any, topics: Any = (), *args: Any, **kwargs: Any) -> Any:
            handover = handover_of(self)
            if switch.on and handover is not None and topics:
                topics = handover.subscription(list(topics))
            return original(self, topics, *args, **kwargs)

        return subscribe

    def make_start(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def start(self: Any) -> Any:
            handover = handover_of(self)
            if switch.on and handover is not None:
                await handover.create_lane_topics()
            return await original(self)

        return start

    def make_stop(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def stop(self: Any) -> Any:
            handover = handover_of(self)
            if handover is not None:
                await handover.close()
            return await original(self)

        return stop

    def make_getone(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def getone(self: Any, *partitions: Any) -> Any:
            if not switch.on:
                return await original(self, *partitions)
            lanes = lanes_of(self, config)
            lanes.leave()
            handover = handover_of(self)
            if handover is None or not handover.stable_side:
                while True:
                    record = await original(self, *partitions)
                    if lanes.accept(record.headers):
                        return record
            await handover.settle()
            while partitions:  # from given partitions only: no departed lane's records
                record = await original(self, *partitions)
                mine, lane = await keep(self, lanes, record)
                if mine:
                    lanes.enter(lane)
                    return handover.restore(record)
            while True:
                taken = await handover.take()
                if taken is not None:
                    return taken
                wait = int(CHECK_INTERVAL * 1000)
                batches = await raw["getmany"](self, timeout_ms=wait, max_records=1)
                for records in batches.values():
                    for record in records:
                        mine, lane = await keep(self, lanes, record)
                        if mine:
                            lanes.enter(lane)
                            return handover.restore(record)

        return getone

    def make_getmany(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def getmany(self: Any, *partitions: Any, **kwargs: Any) -> Any:
            batches = await original(self, *partitions, **kwargs)
            if not switch.on:
                return batches
            lanes, handover = lanes_of(self, config), handover_of(self)
            lanes.leave()  # a batch holds records of many lanes: none is current after it
            kept: dict[Any, list[Any]] = {}
            if handover is not None:
                await handover.settle()
                taken = await handover.take()  # one record of a departed lane's topics
                lanes.leave()
                if taken is not None:
                    kept[TopicPartition(taken.topic, taken.partition)] = [taken]
            for partition, records in batches.items():
                mine = [record for record in records if (await keep(self, lanes, record))[0]]
                if mine:
                    restore = handover.restore if handover is not None else (lambda r: r)
                    kept.setdefault(partition, []).extend(restore(record) for record in mine)
            return kept

        return getmany

    undo = [
        patch(AIOKafkaProducer, "send", make_send),
        patch(AIOKafkaConsumer, "__init__", make_init),
        patch(AIOKafkaConsumer, "subscribe", make_subscribe),
        patch(AIOKafkaConsumer, "start", make_start),
        patch(AIOKafkaConsumer, "stop", make_stop),
        patch(AIOKafkaConsumer, "getone", make_getone),
        patch(AIOKafkaConsumer, "getmany", make_getmany),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
