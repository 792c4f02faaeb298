"""Which version served a hop: the request's lane against this process's own lane.

A server or message-consume span is a *hop*. It carries ``lane.id`` (the lane the
request asked for) and ``lane.hop``: ``hit`` when this process is that lane's
version, ``fallback`` when a lane was asked for and another version (stable)
served it, ``none`` when the request had no lane. A consume path marks its span
with the message's lane::

    from lanectx import mark_hop
    mark_hop(span, message_lane)      # 'hit', 'fallback' or 'none'
"""

from __future__ import annotations

import functools

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from ._config import LaneConfig, active_config
from ._resource import process_lane

__all__ = [
    "FALLBACK",
    "HIT",
    "HOP_ATTRIBUTE",
    "HOP_KINDS",
    "NONE",
    "STABLE",
    "hop_outcome",
    "mark_consume_span",
    "mark_hop",
    "marked_elsewhere",
    "own_lane",
    "served_by",
    "set_hop",
]

HOP_ATTRIBUTE = "lane.hop"
HIT, FALLBACK, NONE = "hit", "fallback", "none"
STABLE = "stable"
HOP_KINDS = frozenset((SpanKind.SERVER, SpanKind.CONSUMER))
"""The span kinds that are hops: lanectx's span processor marks them when they start."""
_elsewhere = False  # set once a hop is put on a span of another kind


def marked_elsewhere() -> bool:
    """Whether `mark_hop` has marked a span outside `HOP_KINDS` (so every span may be a hop)."""
    return _elsewhere


@functools.cache
def own_lane() -> str | None:
    """Return this process's lane (``LANE_ID`` / ``PR_ID``, read once), None when stable."""
    return process_lane()


def served_by() -> str:
    """Return the version this process serves: its own lane, else ``stable``."""
    return own_lane() or STABLE


def hop_outcome(lane: str | None, own: str | None) -> str:
    """Return ``hit``, ``fallback`` or ``none`` for a request of *lane* served by lane *own*."""
    if lane is None:
        return NONE
    return HIT if lane == own else FALLBACK


def mark_hop(span: Span, lane: str | None, config: LaneConfig | None = None) -> str:
    """Put the requested *lane* and this hop's outcome on *span*; return the outcome.

    For server and message-consume spans (lanectx's span processor does it for
    every span of kind SERVER or CONSUMER when it starts; a consume path that
    learns the message's lane later calls this itself). A span that is not
    recording, or already marked so, is left alone. The hop is counted when the
    span ends.
    """
    outcome = hop_outcome(lane, own_lane())
    if span.is_recording():
        key = (config or active_config()).span_attribute
        if not _marked(span, key, lane, outcome):
            set_hop(span, key, lane, outcome)
            if getattr(span, "kind", None) not in HOP_KINDS:
                global _elsewhere
                _elsewhere = True
    return outcome


def mark_consume_span(lane: str | None, config: LaneConfig | None = None) -> None:
    """Mark the current span with the message's *lane*, if it is a recording consume span.

    The queue integrations call it where a consumed message's lane becomes current:
    a consume span started before that (OpenTelemetry's Celery instrumentation, in
    either order) still gets the message's lane and outcome.
    """
    span = trace.get_current_span()
    if span.is_recording() and getattr(span, "kind", None) is SpanKind.CONSUMER:
        mark_hop(span, lane, config)


def set_hop(span: Span, key: str, lane: str | None, outcome: str) -> None:
    """Set the hop attributes on a recording *span* (*key*: the lane attribute's name)."""
    if lane is not None:
        span.set_attribute(key, lane)  # one call per attribute is the SDK's cheaper path
    span.set_attribute(HOP_ATTRIBUTE, outcome)


def _marked(span: Span, key: str, lane: str | None, outcome: str) -> bool:
    """Whether *span* already carries this hop (the span processor marked it at start)."""
    attributes = getattr(span, "attributes", None)
    if attributes is None or attributes.get(HOP_ATTRIBUTE) != outcome:
        return False
    return lane is None or attributes.get(key) == lane
