"""Hypothesis strategies for hostile lane input, and the invariants every inbound path keeps.

A *poisoned* value holds at least one character no lane can contain, that no
stripping, splitting or percent-decoding removes: whatever path it takes, it is
never a lane. *Hostile* values are anything at all, valid lanes included.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lanectx._lane import is_valid_lane

from ..chain import lane_members

LANE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
POISON = "AZ_.!~@:/\x00\x01\x08\x7f\xe9\xff\u20ac\u0130"  # never in a lane, never stripped
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

lanes = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", fullmatch=True)


@st.composite
def poisoned(draw: st.DrawFn, max_size: int = 60) -> str:
    """A value that is never a lane, a PR number or a lane after decoding."""
    base = draw(st.text(alphabet=LANE_CHARS + " \t", max_size=max_size))
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(st.sampled_from(POISON)) + base[at:]


def oversized() -> st.SearchStrategy[str]:
    """Values past every size limit: a lane-like run far beyond 40 characters."""
    return st.integers(41, 9000).map(lambda n: ("pr-" + "1" * n)[:n])


invalid = st.one_of(poisoned(), oversized(), st.just(""), st.just("-pr-1"), st.just("pr-1-"))
hostile = st.one_of(invalid, lanes, st.text(max_size=80), st.from_regex(r"(pr-)?[0-9]{1,45}"))
keys = st.sampled_from(["a", "b", "user", "k-1", "tenant", "x"])
safe_values = st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)
spaces = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def lane_member(draw: st.DrawFn, value: st.SearchStrategy[str]) -> str:
    """A ``lane`` member with optional whitespace, properties or percent-encoding."""
    text = draw(value)
    if draw(st.booleans()):
        step = draw(st.integers(1, 4))  # percent-encode every step-th ASCII character
        text = "".join(
            f"%{ord(c):02X}" if ord(c) < 128 and i % step == 0 else c for i, c in enumerate(text)
        )
    prop = draw(st.sampled_from(["", ";p=1", ";lane=pr-7", ";;x"]))
    return f"{draw(spaces)}lane{draw(spaces)}={draw(spaces)}{text}{draw(spaces)}{prop}"


@st.composite
def baggage(
    draw: st.DrawFn, lane_value: st.SearchStrategy[str]
) -> tuple[list[str], dict[str, str]]:
    """(baggage headers, the valid non-lane members in the first one) with hostile lane members.

    Sizes range from empty to beyond the W3C limits (more than 180 members, more
    than 8192 bytes); a lane member may repeat, hide in a property, or come in a
    second ``baggage`` header.
    """
    others = draw(st.dictionaries(keys, safe_values, max_size=4))
    members = [f"{k}={v}" for k, v in others.items()]
    for _ in range(draw(st.integers(0, 3))):
        members.insert(draw(st.integers(0, len(members))), draw(lane_member(lane_value)))
    if draw(st.booleans()):
        members.append(f"c=1;lane={draw(lanes)}")  # a lane inside a property is no lane
    padding = draw(st.sampled_from([0, 0, 0, 190, 9000]))
    if padding == 190:
        members += [f"m{i}=1" for i in range(padding)]
    elif padding:
        members.append("big=" + "x" * padding)
    headers = [",".join(members)]
    if draw(st.booleans()):
        headers.append(draw(lane_member(lane_value)))
    return headers, others


def check_seen(lane: Any, downstream: dict[str, str]) -> None:
    """The invariants of one request: its lane is None or valid, and only it went onward."""
    assert lane is None or is_valid_lane(lane), lane
    assert downstream.get("x-lane-id") == lane
    assert lane_members(downstream) == ([lane] if lane else [])
    assert "x-pr-id" not in downstream
