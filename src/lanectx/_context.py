"""The request's lane in the current OpenTelemetry context (baggage only).

with use_lane("pr-7"):
    assert current_lane() == "pr-7"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import baggage, context
from opentelemetry.context import Context, get_current

from ._config import LaneConfig, active_config
from ._lane import is_valid_lane, validate_lane

__all__ = ["context_with_lane", "current_lane", "use_lane"]


def current_lane(ctx: Context | None = None, config: LaneConfig | None = None) -> str | None:
    """Return the lane of *ctx* (default: the current context), or None."""
    if ctx is None:
        ctx = get_current()
    if not ctx:  # an empty context holds no baggage (the common case with no lane)
        return None
    value = baggage.get_baggage((config or active_config()).baggage_key, ctx)
    return value if is_valid_lane(value) else None  # type: ignore[return-value]


def context_with_lane(
    ctx: Context, config: LaneConfig, lane: str | None, trusted: bool = True
) -> Context:
    """Return *ctx* with its lane set to *lane*; None keeps a valid lane, drops an invalid one.

    With *trusted* False any lane is dropped. Returns *ctx* itself when nothing
    changes, so callers can skip ``attach``.
    """
    key = config.baggage_key
    old = baggage.get_baggage(key, ctx)
    if not trusted:
        return ctx if old is None else baggage.remove_baggage(key, ctx)
    if lane is not None:
        return ctx if old == lane else baggage.set_baggage(key, lane, ctx)
    if old is None or is_valid_lane(old):
        return ctx
    return baggage.remove_baggage(key, ctx)


@contextmanager
def use_lane(lane: str | None, config: LaneConfig | None = None) -> Iterator[str | None]:
    """Run the block with *lane* as the current lane (None: with no lane).

    Raises `InvalidLaneError` (a `ValueError`) if *lane* is not a lane id.
    """
    key = (config or active_config()).baggage_key
    if lane is None:
        ctx = baggage.remove_baggage(key)
    else:
        ctx = baggage.set_baggage(key, validate_lane(lane))
    token = context.attach(ctx)
    try:
        yield lane
    finally:
        context.detach(token)
