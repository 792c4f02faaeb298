"""Isolation for Celery workers: each lane's tasks wait in the lane's own queue.

A worker in lane L consumes ``<queue>-L`` in place of each of its queues. A stable
worker handles the tasks it must (`ConsumerLanes.handles`) and moves each task of a
lane that the lane map lists for its service into that lane's queue (publish, then
ack). Once a second it compares the map with the lanes it has known: it consumes the
queues of lanes that left the map, so their waiting tasks come back to stable, and
stops when a lane returns. The lanes it has moved tasks to are kept in a durable
record queue beside each queue (`record_queue`), so that a stable worker started after
a lane left the map still takes that lane's waiting tasks. See docs/queues.md for the
timing and the failure modes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu.entity import Queue

from ._config import LaneConfig
from ._lane import is_valid_lane
from ._messages import ConsumerLanes, message_lane
from ._names import lane_name
from .lanemap import lane_map

__all__ = ["CHECK_INTERVAL", "LaneRouter", "lane_queue", "record_queue", "use_lane_queues"]

logger = logging.getLogger("lanectx")

CHECK_INTERVAL = 1.0  # seconds between two comparisons of the lane map by a stable worker


def lane_queue(queue: Any, lane: str) -> Any:
    """Return the queue of *lane* beside *queue*: same exchange, lane-scoped name and key."""
    return Queue(  # type: ignore[no-untyped-call]
        lane_name(queue.name, lane),
        exchange=queue.exchange,
        routing_key=lane_name(queue.routing_key or queue.name, lane),
        durable=queue.durable,
        auto_delete=queue.auto_delete,
        queue_arguments=queue.queue_arguments,
    )


def record_queue(queue: Any) -> Any:
    """Return the durable queue recording the lanes that *queue*'s tasks were moved to."""
    name = f"{queue.name}.lanectx-lanes"
    return Queue(name, exchange=queue.exchange, routing_key=name, durable=True)  # type: ignore[no-untyped-call]


def recorded_lanes(app: Any, queues: list[Any]) -> set[str]:
    """Read the lanes recorded beside *queues*; the record is left as it was (nothing acked)."""
    found: set[str] = set()
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        for queue in queues:
            record = record_queue(queue)(channel)
            record.declare()
            held = []
            while (message := record.get(no_ack=False)) is not None:
                held.append(message)
                lane = message.body.decode() if isinstance(message.body, bytes) else message.body
                if is_valid_lane(lane):
                    found.add(lane)
            for message in held:
                message.requeue()
    return found


def use_lane_queues(app: Any, lane: str) -> dict[str, Queue]:
    """Make a worker of *app* consume its lane's queues in place of its own ones.

    Returns the original queues by the routing key of their lane queue.
    """
    queues = app.amqp.queues
    originals: dict[str, Queue] = {}
    for queue in list(queues.consume_from.values()):
        if queue.name.endswith(f"-{lane}"):
            continue
        lane_copy = lane_queue(queue, lane)
        queues.deselect(queue.name)
        queues.select_add(lane_copy)
        originals[lane_copy.routing_key] = queue
    return originals


class LaneRouter:
    """One worker consumer's isolation: keep its own tasks, move the others to their queue."""

    def __init__(self, config: LaneConfig, consumer: Any, originals: dict[str, Queue]) -> None:
        self.config = config
        self.consumer = consumer
        self.lanes = ConsumerLanes(config)
        self.originals = originals  # lane routing key -> this worker's original queue
        queues = consumer.app.amqp.queues.consume_from.values()
        self.own_queues = {queue.routing_key or queue.name: queue for queue in queues}
        self.bases: dict[str, Queue] = {}  # lane routing key -> the queue it is a lane of
        self.known: set[str] = set()
        self.recorded: set[str] = set()  # lanes found in, or written to, the record queues
        self.draining: set[str] = set()
        if self.lanes.own is None and self.lanes.service is not None:
            try:
                self.recorded = recorded_lanes(consumer.app, list(self.own_queues.values()))
            except Exception as err:
                logger.warning("lanectx: could not read the recorded lanes: %s", err)
            self.known |= self.recorded | lane_map(config).lanes(self.lanes.service)
            consumer.timer.call_repeatedly(CHECK_INTERVAL, self.check)

    def keep(self, message: Any) -> bool:
        """Return True for a task this worker runs; move any other one to its queue."""
        headers = getattr(message, "headers", None) or {}
        lane = message_lane(self.config, headers.items())
        if self.lanes.handles(lane):
            return True
        routing_key = (getattr(message, "delivery_info", None) or {}).get("routing_key")
        if self.lanes.own is not None:
            target = self.originals.get(routing_key or "")  # not ours: back to stable
        else:
            key = routing_key or ""
            queue = self.own_queues.get(key) or self.bases.get(key)
            target = None if queue is None or lane is None else lane_queue(queue, lane)
            if lane is not None:
                self.known.add(lane)
            if queue is not None and lane is not None and lane not in self.recorded:
                self._record(queue, lane)
        if target is None:
            return True  # nowhere known to send it: run it rather than lose it
        self._move(message, target)
        return False

    def _record(self, queue: Queue, lane: str) -> None:
        record = record_queue(queue)
        with self.consumer.app.producer_or_acquire() as producer:
            producer.publish(
                lane.encode(),
                exchange=record.exchange,
                routing_key=record.routing_key,
                content_type="text/plain",
                content_encoding="utf-8",
                declare=[record],
                retry=True,
            )
        self.recorded.add(lane)

    def _move(self, message: Any, queue: Queue) -> None:
        properties = message.properties or {}
        extra = {
            k: properties[k] for k in ("correlation_id", "reply_to", "priority") if k in properties
        }
        with self.consumer.app.producer_or_acquire() as producer:
            producer.publish(
                message.body,
                exchange=queue.exchange,
                routing_key=queue.routing_key,
                headers=message.headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                declare=[queue],
                retry=True,
                **extra,
            )
        message.ack()

    def check(self) -> None:
        """Consume the queues of lanes that left the lane map; stop for lanes back in it."""
        service = self.lanes.service
        if service is None:
            return
        listed = lane_map(self.config).lanes(service)
        self.known |= listed
        queues = self.consumer.app.amqp.queues
        for lane in sorted(self.known):
            for queue in self.own_queues.values():
                lane_copy = lane_queue(queue, lane)
                self.bases[lane_copy.routing_key] = queue
                if lane not in listed and lane not in self.draining:
                    queues.add(lane_copy)
                    self.consumer.add_task_queue(lane_copy.name)
                elif lane in listed and lane in self.draining:
                    self.consumer.cancel_task_queue(lane_copy.name)
            if lane in listed:
                self.draining.discard(lane)
            else:
                self.draining.add(lane)


def router_for(config: LaneConfig, consumer: Any, originals: dict[str, Queue]) -> LaneRouter:
    """Return the `LaneRouter` of a worker *consumer* (one per consumer, made on first use)."""
    router: LaneRouter | None = getattr(consumer, "_lanectx_router", None)
    if router is None:
        router = consumer._lanectx_router = LaneRouter(config, consumer, originals)
    return router


def wrap_strategy(router: LaneRouter, strategy: Callable[..., Any]) -> Callable[..., Any]:
    """Return a task strategy that runs only the tasks *router* keeps."""

    def lane_strategy(message: Any, *args: Any, **kwargs: Any) -> Any:
        if router.keep(message):
            return strategy(message, *args, **kwargs)
        return None

    return lane_strategy
