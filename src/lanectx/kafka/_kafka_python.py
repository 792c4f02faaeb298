"""kafka-python: `KafkaProducer.send` and `KafkaConsumer` iteration / poll."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from .._config import LaneConfig
from .._messages import ConsumerLanes
from .._patch import patch
from ._lanes import filter_batches, lanes_of, with_lane

__all__: list[str] = []


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch kafka-python's producer and consumer; return the undo."""

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
                if configs.get("group_id"):
                    configs["group_id"] = lanes.group(configs["group_id"])
            original(self, *topics, **configs)

        return init

    def make_next(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def next_record(self: Any) -> Any:
            if not switch.on:
                return original(self)
            lanes = lanes_of(self, config)
            lanes.leave()
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
            return filter_batches(lanes_of(self, config), batches)

        return poll

    undo = [
        patch(KafkaProducer, "send", make_send),
        patch(KafkaConsumer, "__init__", make_init),
        patch(KafkaConsumer, "__next__", make_next),
        patch(KafkaConsumer, "poll", make_poll),
    ]

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
