"""What the three Kafka client integrations share: a consumer's lanes and batch filtering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .._config import LaneConfig
from .._messages import ConsumerLanes, message_lane, outgoing_lane, with_lane_headers
from ._handover import Handover

__all__ = ["filter_batches", "lanes_of", "with_lane"]

K = TypeVar("K")


def with_lane(
    config: LaneConfig, position: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Put the current lane into the headers of one produce call, in place in *kwargs*.

    *position* is the index of ``headers`` in *args* (the arguments after the topic),
    for callers that pass it positionally; returns the arguments to pass on.
    """
    lane = outgoing_lane(config)
    if len(args) > position:
        headers = args[position]
        if lane is not None or headers:
            new = with_lane_headers(config, headers, lane)
            args = (*args[:position], new, *args[position + 1 :])
        return args
    headers = kwargs.get("headers")
    if lane is not None or headers:
        kwargs["headers"] = with_lane_headers(config, headers, lane)
    return args


def lanes_of(consumer: Any, config: LaneConfig) -> ConsumerLanes:
    """Return the `ConsumerLanes` of *consumer* (made now for one created before instrument())."""
    lanes: ConsumerLanes | None = getattr(consumer, "_lanectx", None)
    if lanes is None:
        lanes = consumer._lanectx = ConsumerLanes(config)
    return lanes


def filter_batches(
    lanes: ConsumerLanes, batches: Mapping[K, Sequence[Any]], handover: Handover | None = None
) -> dict[K, list[Any]]:
    """Keep the records of each partition's batch that this consumer handles.

    With a stable side's *handover*, the records of listed lanes are moved to their
    lane's topic. No lane is current afterwards: a batch holds records of many lanes.
    """
    lanes.leave()
    kept = {}
    moves = handover is not None and handover.stable_side
    for partition, records in batches.items():
        mine = []
        for record in records:
            lane = message_lane(lanes.config, record.headers)
            if lanes.handles(lane):
                mine.append(record)
            elif moves and lane is not None:
                handover.move(record, lane)  # type: ignore[union-attr]
        if mine:
            kept[partition] = mine
    return kept
