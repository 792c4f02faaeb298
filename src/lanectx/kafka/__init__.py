"""Lanes through Kafka: confluent-kafka, aiokafka and kafka-python, producers and consumers.

``lanectx.instrument()`` patches whichever of the three clients is installed::

    lanectx.instrument()
    with lanectx.use_lane("pr-7"):
        producer.send("orders", b"...")          # headers x-lane-id, baggage lane=pr-7
    for record in consumer:                       # kafka-python; aiokafka: async for / getone
        lanectx.current_lane()                    # the record's lane, until the next one

Producers: exactly one ``x-lane-id`` header and one lane baggage member are added to
a copy of the caller's headers (list or dict), whose other headers and baggage
members stay. Consumers: in a lane the consumer reads the lane's own topics in the
lane's own group (`lanectx.lane_name`); a stable one moves the records of lanes the
lane map lists for its service to their topics, and takes those topics over when a
lane leaves the map (docs/queues.md). Every returned record is one this process must
handle, and its lane is current from the return of ``poll`` / ``next`` / ``getone``
until the next call. Batch calls (confluent ``consume``, aiokafka ``getmany``,
kafka-python ``poll``) are decided the same way, but no single lane can be current
for a batch: use `record_lane` per record.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .._config import LaneConfig, active_config
from .._messages import message_lane

__all__ = ["record_lane"]

_CLIENTS = ("_confluent", "_aiokafka", "_kafka_python")


def record_lane(record: object, config: LaneConfig | None = None) -> str | None:
    """Return the lane of a consumed record of any of the three clients (None: no lane)."""
    headers = getattr(record, "headers", None)
    if callable(headers):  # confluent-kafka: Message.headers()
        headers = headers()
    return message_lane(config or active_config(), headers)


def _install_one(name: str, config: LaneConfig) -> Callable[[], None]:
    undo: Callable[[], None] = importlib.import_module(f"{__name__}.{name}")._install(config)
    return undo


def _install_confluent(config: LaneConfig) -> Callable[[], None]:
    """Patch confluent-kafka only (for installing each client when it is imported)."""
    return _install_one("_confluent", config)


def _install_aiokafka(config: LaneConfig) -> Callable[[], None]:
    """Patch aiokafka only."""
    return _install_one("_aiokafka", config)


def _install_kafka_python(config: LaneConfig) -> Callable[[], None]:
    """Patch kafka-python only."""
    return _install_one("_kafka_python", config)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch every installed Kafka client; raise ImportError when none is installed."""
    undo: list[Callable[[], None]] = []
    missing: list[str] = []
    for name in _CLIENTS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ImportError as err:
            missing.append(str(err))
            continue
        undo.append(module._install(config))
    if not undo:
        raise ImportError("; ".join(missing))

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all
