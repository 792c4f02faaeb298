"""Everything a lane report says, computed once from the spans.

report = build_report(spans, "pr-7")
report.totals        # {'hit': 12, 'fallback': 30, 'lost': 0, 'none': 0}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._hop import FALLBACK, HIT, NONE
from ._compare import Comparison, compare
from ._model import LOST, LaneTrace, lane_traces
from ._spans import Span

__all__ = ["OUTCOMES", "Edge", "Report", "ServiceOutcomes", "build_report"]

OUTCOMES = (HIT, FALLBACK, LOST, NONE)


@dataclass
class ServiceOutcomes:
    """How one service served the lane's hops, and which versions served them."""

    service: str
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    versions: Counter[str] = field(default_factory=Counter)
    dropped: int = 0

    @property
    def colour(self) -> str:
        """The outcome the graph paints the service with: lost, hit, fallback, else none."""
        for outcome in (LOST, HIT, FALLBACK):
            if self.outcomes[outcome]:
                return outcome
        return NONE


@dataclass(frozen=True)
class Edge:
    """Calls from one service's hops to another's, in the lane's traces."""

    source: str
    target: str
    calls: int
    lost: int


@dataclass
class Report:
    """A lane's report: its traces, per-service outcomes, the call graph, the comparisons."""

    lane: str
    traces: list[LaneTrace]
    services: list[ServiceOutcomes]
    edges: list[Edge]
    comparisons: list[Comparison]
    spans: int
    skipped: int
    min_samples: int

    @property
    def totals(self) -> dict[str, int]:
        """The lane's hops counted by outcome."""
        total: Counter[str] = Counter()
        for service in self.services:
            total.update(service.outcomes)
        return {outcome: total[outcome] for outcome in OUTCOMES}

    @property
    def errors(self) -> int:
        """Hops of the lane's traces that failed."""
        return sum(service.errors for service in self.services)

    @property
    def dropped_by(self) -> dict[str, int]:
        """Services that dropped the lane, with how many hops lost it there."""
        return {s.service: s.dropped for s in self.services if s.dropped}


def build_report(
    spans: Sequence[Span], lane: str, min_samples: int = 20, alpha: float = 0.05, skipped: int = 0
) -> Report:
    """Build *lane*'s report from *spans* (all the traffic: lane and stable)."""
    traces = lane_traces(spans, lane)
    services: dict[str, ServiceOutcomes] = {}
    calls: Counter[tuple[str, str]] = Counter()
    lost: Counter[tuple[str, str]] = Counter()

    def outcomes_of(name: str) -> ServiceOutcomes:
        found = services.get(name)
        if found is None:
            found = services[name] = ServiceOutcomes(name)
        return found

    for trace in traces:
        for root in trace.roots:
            for _, hop in root.walk():
                mine = outcomes_of(hop.span.service)
                mine.outcomes[hop.outcome] += 1
                mine.versions[hop.span.version] += 1
                mine.errors += hop.span.error
                if hop.dropped_by is not None:
                    outcomes_of(hop.dropped_by).dropped += 1
                for child in hop.children:
                    if child.span.service != hop.span.service:
                        edge = (hop.span.service, child.span.service)
                        calls[edge] += 1
                        lost[edge] += child.outcome == LOST
    edges = [Edge(src, dst, n, lost[(src, dst)]) for (src, dst), n in sorted(calls.items())]
    return Report(
        lane=lane,
        traces=traces,
        services=sorted(services.values(), key=lambda s: s.service),
        edges=edges,
        comparisons=compare(spans, lane, min_samples, alpha),
        spans=len(spans),
        skipped=skipped,
        min_samples=min_samples,
    )
