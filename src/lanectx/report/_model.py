"""One lane's traces as hop trees: which version served each hop, where the lane was lost.

    traces = lane_traces(spans, "pr-7")
    traces[0].roots[0].outcome       # 'hit', 'fallback', 'lost' or 'none'

A *hop* is a server or consume span. A hop is a ``hit`` when the lane's version
served it, a ``fallback`` when stable did; it is ``lost`` when the lane went
missing on the way to it (some span below one that carried the lane has none, or
another lane): ``dropped_by`` names the service of the first such span. Hops
above the first span with the lane are ``none``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .._hop import FALLBACK, HIT, NONE, hop_outcome
from ._spans import Span

__all__ = ["LOST", "Hop", "LaneTrace", "lane_traces"]

LOST = "lost"
_OUTCOMES = frozenset((HIT, FALLBACK))


@dataclass
class Hop:
    """One hop of a trace, with the hops it called."""

    span: Span
    outcome: str
    dropped_by: str | None = None
    children: list[Hop] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[int, Hop]]:
        """Yield (depth, hop) for this hop and every hop below it, parents first."""
        stack = [(0, self)]
        while stack:
            depth, hop = stack.pop()
            yield depth, hop
            stack.extend((depth + 1, child) for child in reversed(hop.children))


@dataclass
class LaneTrace:
    """A trace that carried the lane somewhere, as hop trees (usually one root)."""

    trace_id: str
    start: int
    roots: list[Hop]
    spans: int

    def hops(self) -> Iterator[Hop]:
        """Every hop of the trace, parents first."""
        for root in self.roots:
            for _, hop in root.walk():
                yield hop

    @property
    def worst(self) -> str:
        """The trace's most telling outcome: lost, then error, then fallback, else hit."""
        hops = list(self.hops())
        if any(h.outcome == LOST for h in hops):
            return LOST
        if any(h.span.error for h in hops):
            return "error"
        return FALLBACK if any(h.outcome == FALLBACK for h in hops) else HIT


def _hop_outcome(span: Span, lane: str) -> str:
    if span.hop in _OUTCOMES:
        return span.hop
    return hop_outcome(lane, span.service_lane)


def _build(spans: list[Span], lane: str) -> LaneTrace:
    ids = {span.span_id for span in spans}
    children: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        children[span.parent_id if span.parent_id in ids else ""].append(span)
    for group in children.values():
        group.sort(key=lambda s: s.start)
    roots: list[Hop] = []
    # (span, nearest hop above, lane seen above, first span without the lane below it)
    stack: list[tuple[Span, Hop | None, bool, Span | None]] = [
        (span, None, False, None) for span in reversed(children[""])
    ]
    while stack:
        span, above, laned, lost_at = stack.pop()
        if span.lane == lane:
            laned, lost_at = True, None
        elif laned and lost_at is None:
            lost_at = span
        hop = above
        if span.is_hop:
            if lost_at is not None:
                hop = Hop(span, LOST, lost_at.service)
            else:
                hop = Hop(span, _hop_outcome(span, lane) if laned else NONE)
            (above.children if above is not None else roots).append(hop)
        for child in reversed(children.get(span.span_id, ())):
            stack.append((child, hop, laned, lost_at))
    start = min(span.start for span in spans)
    return LaneTrace(spans[0].trace_id, start, roots, len(spans))


def lane_traces(spans: Iterable[Span], lane: str) -> list[LaneTrace]:
    """Return the traces in which some span carried *lane*, as hop trees, oldest first."""
    by_trace: dict[str, list[Span]] = defaultdict(list)
    laned: set[str] = set()
    for span in spans:
        by_trace[span.trace_id].append(span)
        if span.lane == lane:
            laned.add(span.trace_id)
    traces = [_build(by_trace[trace_id], lane) for trace_id in laned]
    traces.sort(key=lambda t: (t.start, t.trace_id))
    return traces
