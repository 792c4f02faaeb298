"""aiokafka: `AIOKafkaProducer.send` and `AIOKafkaConsumer` getone / iteration / getmany."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from .._config import LaneConfig
from .._messages import ConsumerLanes
from .._patch import patch
from ._lanes import filter_batches, lanes_of, with_lane

__all__: list[str] = []


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch aiokafka's producer and consumer; return the undo."""

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
                if kwargs.get("group_id"):
                    kwargs["group_id"] = lanes.group(kwargs["group_id"])
            original(self, *topics, **kwargs)

        return init

    def make_getone(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def getone(self: Any, *partitions: Any) -> Any:
            if not switch.on:
                return await original(self, *partitions)
            lanes = lanes_of(self, config)
            lanes.leave()
            while True:
                record = await original(self, *partitions)
                if lanes.accept(record.headers):
                    return record

        return getone

    def make_getmany(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        async def getmany(self: Any, *partitions: Any, **kwargs: Any) -> Any:
            batches = await original(self, *partitions, **kwargs)
            if not switch.on:
                return batches
            return filter_batches(lanes_of(self, config), batches)

        return getmany

    undo = [
        patch(AIOKafkaProducer, "send", make_send),
        patch(AIOKafkaConsumer, "__init__", make_init),
        patch(AIOKafkaConsumer, "getone", make_getone),
        patch(AIOKafkaConsumer, "getmany", make_getmany),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
