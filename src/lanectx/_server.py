"""What every server integration does with the lane it read from a request."""

from __future__ import annotations

from opentelemetry import baggage, trace
from opentelemetry.context import Context, get_current

from ._config import LaneConfig
from ._hop import mark_hop
from ._lane import is_valid_lane

__all__ = ["LIFTED", "request_context"]

# Set in the ASGI scope / WSGI environ by the middleware that made the request's lane
# current, so a second lanectx middleware further in (one `instrument()` added) does not.
LIFTED = "lanectx.lifted"


def request_context(config: LaneConfig, lane: str | None, trusted: bool = True) -> Context | None:
    """Return the context to run the request in, or None to keep the current one.

    With a lane, the lane is set (and also put, with the hop outcome, on an OTel
    server span that is already current, so it is right when our middleware sits
    inside OTel's).
    Without one, an invalid lane left in the current baggage is removed; for an
    untrusted caller any lane (also one OTel's propagator already extracted) is.
    """
    current = get_current()
    key = config.baggage_key
    if not current:  # an empty context: no baggage to clean, no span to mark
        return None if lane is None or not trusted else baggage.set_baggage(key, lane, current)
    if not trusted:
        present = baggage.get_baggage(key, current) is not None
        return baggage.remove_baggage(key, current) if present else None
    if lane is None:
        old = baggage.get_baggage(key, current)
        return None if old is None or is_valid_lane(old) else baggage.remove_baggage(key, current)
    mark_hop(trace.get_current_span(current), lane, config)
    return baggage.set_baggage(key, lane, current)
