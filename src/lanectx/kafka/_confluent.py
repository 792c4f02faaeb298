"""confluent-kafka: `Producer` and `Consumer` replaced by lane-aware subclasses.

Like OpenTelemetry's instrumentation, this replaces ``confluent_kafka.Producer`` and
``confluent_kafka.Consumer`` (C types, whose methods cannot be patched): create
clients after ``lanectx.instrument()``, through the module (``confluent_kafka.Producer``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka

from .._config import LaneConfig
from .._messages import ConsumerLanes, message_lane
from ._handover import CHECK_INTERVAL, LANE_TOPIC_READER, Handover
from ._lanes import with_lane

__all__: list[str] = []

logger = logging.getLogger("lanectx")


def _remaining(deadline: float | None) -> float:
    return -1 if deadline is None else max(0.0, deadline - time.monotonic())


def _install(config: LaneConfig) -> Callable[[], None]:
    """Put the lane-aware Producer and Consumer in place of confluent_kafka's; return the undo."""
    producer_type, consumer_type = confluent_kafka.Producer, confluent_kafka.Consumer

    class Producer(producer_type):  # type: ignore[misc,valid-type]
        """confluent_kafka.Producer that adds the current lane to each record's headers."""

        def produce(self, topic: str, *args: Any, **kwargs: Any) -> Any:
            args = with_lane(config, 5, args, kwargs)
            return super().produce(topic, *args, **kwargs)

    class Consumer(consumer_type):  # type: ignore[misc,valid-type]
        """confluent_kafka.Consumer that returns only this process's records, in their lane."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            lanes = ConsumerLanes(config)
            conf = args[0] if args and isinstance(args[0], dict) else {}
            if lanes.own is not None and conf.get("group.id"):
                lane_conf = {**conf, "group.id": lanes.group(conf["group.id"])}
                args = ({**lane_conf, **LANE_TOPIC_READER}, *args[1:])
            super().__init__(*args, **kwargs)
            self._lanectx = lanes
            self._lanectx_handover = Handover(lanes, dict(conf), (producer_type, consumer_type))

        def subscribe(self, topics: Any, *args: Any, **kwargs: Any) -> Any:
            handover: Handover = self._lanectx_handover
            return super().subscribe(handover.subscription(topics), *args, **kwargs)

        def poll(self, timeout: float | None = None) -> Any:
            lanes: ConsumerLanes = self._lanectx
            handover: Handover = self._lanectx_handover
            lanes.leave()
            handover.settle()
            forever = timeout is None or timeout < 0
            deadline = None if forever else time.monotonic() + float(timeout or 0)
            while True:
                taken = handover.take()
                if taken is not None:
                    return taken
                wait = _remaining(deadline)
                if handover.stable_side:  # wake up to compare the lane map now and then
                    wait = CHECK_INTERVAL if wait < 0 else min(wait, CHECK_INTERVAL)
                message = super().poll(wait)
                if message is not None:
                    if message.error() is not None:
                        return message
                    lane = message_lane(config, message.headers())
                    if lanes.handles(lane):
                        lanes.enter(lane)
                        return message
                    if handover.stable_side and lane is not None:
                        handover.move(message, lane)
                if deadline is not None and time.monotonic() >= deadline:
                    return None

        def close(self, *args: Any, **kwargs: Any) -> Any:
            handover: Handover = self._lanectx_handover
            try:
                handover.close()
            except Exception:
                logger.warning("lanectx: could not close the lane handover", exc_info=True)
            return super().close(*args, **kwargs)

        def consume(self, *args: Any, **kwargs: Any) -> list[Any]:
            lanes: ConsumerLanes = self._lanectx
            handover: Handover = self._lanectx_handover
            lanes.leave()
            handover.settle()
            taken = handover.take()
            kept = [] if taken is None else [taken]
            for message in super().consume(*args, **kwargs):
                lane = None if message.error() else message_lane(config, message.headers())
                if message.error() is not None or lanes.handles(lane):
                    kept.append(message)
                elif handover.stable_side and lane is not None:
                    handover.move(message, lane)
            lanes.leave()  # a batch holds records of many lanes: none is current
            return kept

    module: Any = confluent_kafka
    module.Producer, module.Consumer = Producer, Consumer

    def undo() -> None:
        if module.Producer is Producer:
            module.Producer = producer_type
        if module.Consumer is Consumer:
            module.Consumer = consumer_type

    return undo
