"""The baggage regexes agree with the contract's W3C baggage parser on any list."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from lanectx._baggage import member_values
from lanectx.routing import any_member_regex, baggage_regex

LANES = ["pr-3", "pr-31", "pr-314", "a", "x-lane"]
_word = st.sampled_from(["lane", "xlane", "lanex", "a", "k", "p", *LANES])
_ows = st.sampled_from(["", " ", "\t", "  "])
_value = st.sampled_from([*LANES, "", "1", "pr-3=x", "pr-3 x"])


@st.composite
def baggage_lists(draw: st.DrawFn) -> str:
    """W3C-ish baggage lists: members with whitespace, properties and look-alike keys."""
    members = []
    for _ in range(draw(st.integers(0, 5))):
        member = f"{draw(_ows)}{draw(_word)}{draw(_ows)}={draw(_ows)}{draw(_value)}{draw(_ows)}"
        for _ in range(draw(st.integers(0, 2))):
            member += f";{draw(_ows)}{draw(_word)}{draw(_ows)}={draw(_ows)}{draw(_value)}"
        members.append(member)
    return ",".join(members)


@settings(max_examples=400, deadline=None)
@given(baggage_lists(), st.sampled_from(LANES))
def test_baggage_regex_matches_exactly_when_the_parser_finds_the_lane(
    header: str, lane: str
) -> None:
    """``baggage_regex`` full-matches a list iff one of its ``lane`` members is the lane."""
    expected = lane in list(member_values([header], "lane"))
    assert (re.fullmatch(baggage_regex("lane", lane), header) is not None) == expected


@settings(max_examples=400, deadline=None)
@given(baggage_lists())
def test_fast_path_regex_catches_every_list_with_a_lane_member(header: str) -> None:
    """Lists the any-member regex misses carry no ``lane`` member at all."""
    if re.fullmatch(any_member_regex("lane"), header) is None:
        assert list(member_values([header], "lane")) == []
