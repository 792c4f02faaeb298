"""What every server integration does with the lane it read from a request."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import baggage, trace
from opentelemetry.context import Context, get_current, set_value

from ._baggage import members
from ._config import LaneConfig
from ._lane import is_valid_lane

__all__ = ["request_context"]

# OpenTelemetry keeps all baggage under one context key; setting the whole mapping at
# once costs one context copy instead of one per member.
_BAGGAGE_KEY: str | None = getattr(baggage, "_BAGGAGE_KEY", None)


def _with_baggage(ctx: Context, entries: dict[str, object]) -> Context:
    if _BAGGAGE_KEY is not None:
        return set_value(_BAGGAGE_KEY, entries, ctx)
    ctx = baggage.clear(ctx)
    for name, value in entries.items():
        ctx = baggage.set_baggage(name, value, ctx)
    return ctx


def _mark_span(config: LaneConfig, lane: str, current: Context) -> None:
    span = trace.get_current_span(current)
    if span.is_recording():
        span.set_attribute(config.span_attribute, lane)


def request_context(
    config: LaneConfig,
    lane: str | None,
    trusted: bool = True,
    baggage_headers: Sequence[str] | None = None,
) -> Context | None:
    """Return the context to run the request in, or None to keep the current one.

    With a lane, the lane is set (and also put on an OTel server span that is
    already current, so it is right when our middleware sits inside OTel's).
    Without one, an invalid lane left in the current baggage is removed; for an
    untrusted caller any lane (also one OTel's propagator already extracted) is.
    The other members of *baggage_headers* (the request's ``baggage`` headers) are
    added to the context's baggage, so outgoing calls pass them on.
    """
    current = get_current()
    key = config.baggage_key
    entries = members(baggage_headers, key) if baggage_headers else None
    if entries:
        merged = {**baggage.get_all(current), **entries}
        old = merged.pop(key, None)
        if trusted and lane is not None:
            merged[key] = lane
            _mark_span(config, lane, current)
        elif trusted and old is not None and is_valid_lane(old):
            merged[key] = old
        return _with_baggage(current, merged)
    if not current:  # an empty context: no baggage to clean, no span to mark
        return None if lane is None or not trusted else baggage.set_baggage(key, lane, current)
    if not trusted:
        present = baggage.get_baggage(key, current) is not None
        return baggage.remove_baggage(key, current) if present else None
    if lane is None:
        old = baggage.get_baggage(key, current)
        return None if old is None or is_valid_lane(old) else baggage.remove_baggage(key, current)
    _mark_span(config, lane, current)
    return baggage.set_baggage(key, lane, current)
