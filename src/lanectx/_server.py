"""What every server integration does with the lane it read from a request."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import baggage, trace
from opentelemetry.context import Context, get_current

from ._baggage import joined
from ._config import LaneConfig
from ._hop import mark_hop
from ._lane import is_valid_lane
from ._outbound import with_request_baggage

__all__ = ["LIFTED", "request_context"]

# Set in the ASGI scope / WSGI environ by the middleware that made the request's lane
# current, so a second lanectx middleware further in (one `instrument()` added) does not.
LIFTED = "lanectx.lifted"


def request_context(
    config: LaneConfig,
    lane: str | None,
    trusted: bool = True,
    baggage_headers: Sequence[str] | None = None,
) -> Context | None:
    """Return the context to run the request in, or None to keep the current one.

    With a lane, the lane is set (and also put, with the hop outcome, on an OTel
    server span that is already current, so it is right when our middleware sits
    inside OTel's).
    Without one, an invalid lane left in the current baggage is removed; for an
    untrusted caller any lane (also one OTel's propagator already extracted) is.
    The other members of *baggage_headers* (the request's ``baggage`` headers) are
    kept with the context and sent on by every outgoing call (see `_outbound`); they
    are parsed only then, once per request.
    """
    current = get_current()
    if baggage_headers:
        current = with_request_baggage(current, joined(baggage_headers))
        return _lane_context(config, lane, trusted, current) or current
    return _lane_context(config, lane, trusted, current)


def _lane_context(
    config: LaneConfig, lane: str | None, trusted: bool, current: Context
) -> Context | None:
    key = config.baggage_key
    if not current:  # an empty context: no baggage to clean, no span to mark
        return None if lane is None or not trusted else baggage.set_baggage(key, lane, current)
    if not trusted:
        present = baggage.get_baggage(key, current) is not None
        return baggage.remove_baggage(key, current) if present else None
    if lane is None:
        old = baggage.get_baggage(key, current)
        return None if old is None or is_valid_lane(old) else baggage.remove_baggage(key, current)
    span = trace.get_current_span(current)
    if span.is_recording():  # inside OTel's middleware: its span, maybe its lane already
        mark_hop(span, lane, config)
        if baggage.get_baggage(key, current) == lane:
            return None
    return baggage.set_baggage(key, lane, current)
