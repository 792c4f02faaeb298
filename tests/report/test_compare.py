"""Lane version against stable: Mann-Whitney U on latency and errors, a minimum sample size."""

from __future__ import annotations

import random

import pytest

from lanectx.report import Span, SpanReader, compare

from .otlp_json import export_line, span


def _spans(
    lane_ms: list[float], stable_ms: list[float], lane_errors: int = 0, stable_errors: int = 0
) -> list[Span]:
    """Server spans of reviews: the pr-7 version's and stable's, with given durations."""
    items = [
        span(f"a{i:x}", "1", None, "reviews", version="pr-7", lane="pr-7", millis=ms,
             error=i < lane_errors)
        for i, ms in enumerate(lane_ms)
    ]  # fmt: skip
    items += [
        span(f"b{i:x}", "1", None, "reviews", millis=ms, error=i < stable_errors)
        for i, ms in enumerate(stable_ms)
    ]
    items.append(span("c", "1", None, "reviews", version="pr-8", lane="pr-8", millis=999))
    return list(SpanReader().lines([export_line(items)]))


def _around(centre: float, count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [centre + rng.uniform(-1, 1) for _ in range(count)]


def test_a_slower_lane_version_is_called_slower() -> None:
    """Lane hops clearly slower than stable ones: 'slower', p below alpha, medians shown."""
    (row,) = compare(_spans(_around(20, 30, 1), _around(10, 40, 2)), "pr-7")
    assert row.service == "reviews"
    assert (row.lane_samples, row.stable_samples) == (30, 40)
    assert row.latency.verdict == "slower"
    assert row.latency.p_value is not None
    assert row.latency.p_value < 0.001
    assert row.latency.lane == pytest.approx(20, abs=1)
    assert row.latency.stable == pytest.approx(10, abs=1)


def test_a_faster_lane_and_no_difference() -> None:
    """Faster lane hops are 'faster'; two samples of one distribution show no difference."""
    (faster,) = compare(_spans(_around(5, 30, 3), _around(10, 30, 4)), "pr-7")
    assert faster.latency.verdict == "faster"
    (same,) = compare(_spans(_around(10, 30, 5), _around(10, 30, 6)), "pr-7")
    assert same.latency.verdict == "no difference"
    assert same.latency.p_value is not None
    assert same.latency.p_value > 0.05


def test_more_errors_in_the_lane() -> None:
    """Half the lane's hops failing against none of stable's is 'more errors'."""
    (row,) = compare(_spans([1.0] * 30, [1.0] * 30, lane_errors=15), "pr-7")
    assert row.errors.verdict == "more errors"
    assert row.errors.lane == pytest.approx(0.5)
    assert row.errors.stable == 0
    assert row.latency.verdict == "no difference"  # all equal: p = 1, no warning
    assert row.latency.p_value == 1.0


@pytest.mark.parametrize(("lane", "stable"), [(19, 100), (100, 19), (0, 100)])
def test_below_the_minimum_sample_size_not_enough_data(lane: int, stable: int) -> None:
    """Fewer than min_samples hops on either side: 'not enough data', no p-value."""
    rows = compare(_spans(_around(50, lane, 7), _around(1, stable, 8)), "pr-7", min_samples=20)
    if lane == 0:
        assert rows == []  # the lane has no version of reviews: nothing to compare
        return
    (row,) = rows
    assert row.latency.verdict == row.errors.verdict == "not enough data"
    assert row.latency.p_value is None


def test_the_minimum_is_configurable() -> None:
    """With min_samples=5, five hops a side are enough for a verdict."""
    (row,) = compare(_spans(_around(50, 5, 9), _around(1, 5, 10)), "pr-7", min_samples=5)
    assert row.latency.verdict == "slower"
