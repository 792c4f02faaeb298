"""Lane version against stable, per service: latency and error rate, Mann-Whitney U.

    rows = compare(spans, "pr-7", min_samples=20)
    rows[0].latency.verdict        # 'slower', 'faster', 'no difference' or 'not enough data'

Samples are the hop spans of each service the lane redeployed: the lane's version
(``service.lane`` = the lane) against the stable version (no ``service.lane``), from
all traces given, with or without a lane. Like a canary judge, a difference is
reported only when the two-sided test says p < *alpha* and each side has at least
*min_samples* hops; below that the verdict is "not enough data". The test needs
SciPy (``pip install 'lanectx[report]'``); without it the verdict says so.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._spans import Span

__all__ = ["NOT_ENOUGH", "Comparison", "Judgement", "compare"]

NOT_ENOUGH = "not enough data"
NO_DIFFERENCE = "no difference"
NO_SCIPY = "not tested (pip install 'lanectx[report]')"


@dataclass(frozen=True)
class Judgement:
    """One metric of one service, lane against stable."""

    lane: float
    stable: float
    p_value: float | None
    verdict: str


@dataclass(frozen=True)
class Comparison:
    """Latency (median ms) and error rate of a service's lane version against stable."""

    service: str
    lane_samples: int
    stable_samples: int
    latency: Judgement
    errors: Judgement


def _p_value(lane: Sequence[float], stable: Sequence[float]) -> float | None:
    """Two-sided Mann-Whitney U p-value; None without SciPy."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return None
    if len(set(lane) | set(stable)) < 2:  # all equal: no evidence of any difference
        return 1.0
    return float(mannwhitneyu(lane, stable, alternative="two-sided").pvalue)


def _judgement(
    lane: Sequence[float],
    stable: Sequence[float],
    centre: float,
    base: float,
    min_samples: int,
    alpha: float,
    words: tuple[str, str],
) -> Judgement:
    if min(len(lane), len(stable)) < min_samples:
        return Judgement(centre, base, None, NOT_ENOUGH)
    p_value = _p_value(lane, stable)
    if p_value is None:
        return Judgement(centre, base, None, NO_SCIPY)
    if p_value >= alpha or centre == base:
        return Judgement(centre, base, p_value, NO_DIFFERENCE)
    return Judgement(centre, base, p_value, words[0] if centre > base else words[1])


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _rate(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def compare(
    spans: Iterable[Span], lane: str, min_samples: int = 20, alpha: float = 0.05
) -> list[Comparison]:
    """Return, for each service with a version in *lane*, its lane-against-stable comparison."""
    latency: dict[tuple[str, str], list[float]] = defaultdict(list)
    failed: dict[tuple[str, str], list[float]] = defaultdict(list)
    for span in spans:
        if not span.is_hop or span.service_lane not in (None, lane):
            continue
        key = (span.service, span.version)
        latency[key].append(span.millis)
        failed[key].append(1.0 if span.error else 0.0)
    rows = []
    for service in sorted({service for service, version in latency if version == lane}):
        mine, base = latency[(service, lane)], latency[(service, "stable")]
        mine_failed, base_failed = failed[(service, lane)], failed[(service, "stable")]
        rows.append(
            Comparison(
                service,
                len(mine),
                len(base),
                _judgement(
                    mine,
                    base,
                    _median(mine),
                    _median(base),
                    min_samples,
                    alpha,
                    ("slower", "faster"),
                ),
                _judgement(
                    mine_failed,
                    base_failed,
                    _rate(mine_failed),
                    _rate(base_failed),
                    min_samples,
                    alpha,
                    ("more errors", "fewer errors"),
                ),
            )
        )
    return rows
