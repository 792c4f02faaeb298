"""What the three Kafka client integrations share: a consumer's lanes and batch filtering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .._config import LaneConfig
from .._messages import ConsumerLanes, outgoing_lane, with_lane_headers

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


def filter_batches(lanes: ConsumerLanes, batches: Mapping[K, Sequence[Any]]) -> dict[K, list[Any]]:
    """Keep the records of each partition's batch that this consumer handles.

    No lane is current afterwards: a batch holds records of many lanes.
    """
    lanes.leave()
    kept = {}
    for partition, records in batches.items():
        mine = [record for record in records if lanes.accept(record.headers)]
        if mine:
            kept[partition] = mine
    lanes.leave()
    return kept
