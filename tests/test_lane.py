"""The lane grammar, PR numbers, baggage members and the inbound precedence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lanectx
from lanectx import InvalidLaneError, LaneConfig
from lanectx._baggage import member_values, with_member, without_member
from lanectx._lane import LANE_PATTERN, lane_from_pairs, lane_from_pr_id, lane_from_values


@pytest.mark.parametrize("lane", ["pr-1", "a", "0", "x" * 40, "feature-42-login", "123"])
def test_valid_lanes(lane: str) -> None:
    """DNS labels of at most 40 characters are lanes."""
    assert lanectx.is_valid_lane(lane)
    assert lanectx.validate_lane(lane) == lane


@pytest.mark.parametrize(
    "value",
    ["", "-pr", "pr-", "PR-1", "pr_1", "pr 1", "x" * 41, "pr-1\n", "é", "pr.1", None, 7, b"pr-1"],
)
def test_invalid_lanes(value: object) -> None:
    """Anything else is not a lane, and validate_lane raises a ValueError."""
    assert not lanectx.is_valid_lane(value)
    with pytest.raises(InvalidLaneError) as info:
        lanectx.validate_lane(value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("value", "lane"),
    [
        ("123", "pr-123"),
        ("pr-123", "pr-123"),
        (" 7 ", "pr-7"),
        ("12a", None),
        ("-1", None),
        ("pr-", None),
        ("", None),
        ("1" * 38, None),
        ("PR-1", None),
    ],
)
def test_pr_numbers(value: str, lane: str | None) -> None:
    """x-pr-id takes a number or pr-<number>."""
    assert lane_from_pr_id(value) == lane


@pytest.mark.parametrize(
    ("headers", "values"),
    [
        (["lane=pr-7"], ["pr-7"]),
        (["a=1,lane=pr-7"], ["pr-7"]),
        (["a=1 ,  lane \t= pr-7 ;p=1;q"], ["pr-7"]),
        (["a=1;lane=pr-7"], []),
        (["xlane=pr-7,lanex=pr-8"], []),
        (["a=1", "lane=pr-8"], ["pr-8"]),
        (["lane=pr-1,lane=pr-2"], ["pr-1", "pr-2"]),
        (["lane=pr%2D9"], ["pr-9"]),
        (["lane"], []),
        ([""], []),
    ],
)
def test_baggage_members(headers: list[str], values: list[str]) -> None:
    """Members are found per W3C: whitespace, properties, several headers, no property names."""
    assert list(member_values(headers, "lane")) == values


def test_baggage_rewrites_keep_other_members() -> None:
    """Dropping or setting the lane member leaves every other member as it was sent."""
    assert without_member("a=1, lane=pr-1;p, b=2;q=3", "lane") == "a=1,b=2;q=3"
    assert without_member("lane=pr-1", "lane") == ""
    assert with_member("a=1,lane=pr-1,lane=pr-2", "lane", "pr-3") == "a=1,lane=pr-3"
    assert with_member(None, "lane", "pr-3") == "lane=pr-3"
    assert without_member("a=1;lane=x", "lane") == "a=1;lane=x"


PRECEDENCE = [
    ({"x-lane-id": ["pr-1"], "x-pr-id": ["2"], "baggage": ["lane=pr-3"]}, "pr-1"),
    ({"x-lane-id": ["Bad"], "x-pr-id": ["2"], "baggage": ["lane=pr-3"]}, "pr-2"),
    ({"x-lane-id": ["Bad"], "x-pr-id": ["x"], "baggage": ["lane=pr-3"]}, "pr-3"),
    ({"x-lane-id": ["Bad"], "x-pr-id": ["x"], "baggage": ["lane=Bad"]}, None),
    ({"baggage": ["lane=Bad", "lane=pr-4"]}, "pr-4"),
    ({"x-lane-id": [" pr-5 "]}, "pr-5"),
    ({}, None),
]


@pytest.mark.parametrize(("headers", "lane"), PRECEDENCE)
def test_first_valid_source_wins(headers: dict[str, list[str]], lane: str | None) -> None:
    """x-lane-id, then x-pr-id, then baggage; an invalid value falls through to the next."""
    config = LaneConfig()
    assert lane_from_values(config, headers.get) == lane
    pairs = [(k.encode(), v.encode()) for k, vs in headers.items() for v in vs]
    assert lane_from_pairs(config, pairs) == lane


@given(st.text(max_size=60))
def test_grammar_matches_the_contract_regex(value: str) -> None:
    """is_valid_lane agrees with the contract's regex on any text."""
    contract = LANE_PATTERN.fullmatch(value) is not None and len(value) <= 40
    assert lanectx.is_valid_lane(value) is contract
    assert lanectx.is_valid_lane(value) is (
        __import__("re").fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", value) is not None
    )


@given(
    st.dictionaries(
        st.sampled_from(["x-lane-id", "x-pr-id", "baggage"]),
        st.lists(st.text(max_size=300), max_size=3),
    )
)
def test_any_headers_give_a_valid_lane_or_none(headers: dict[str, list[str]]) -> None:
    """Whatever the headers hold, the result is a valid lane or None, never an exception."""
    lane = lane_from_values(LaneConfig(), headers.get)
    assert lane is None or lanectx.is_valid_lane(lane)
