"""Hostile input straight into the parser, the propagator and the outbound step (fast)."""

from __future__ import annotations

import os
from urllib.parse import unquote_plus

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import baggage as otel_baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from requests.structures import CaseInsensitiveDict

import lanectx
from lanectx import LaneConfig
from lanectx._baggage import MAX_BYTES, MAX_MEMBERS, member_values, with_member
from lanectx._lane import is_valid_lane, lane_from_values
from lanectx._outbound import prepare_request
from lanectx.propagator import LanePropagator

from ..chain import lane_members
from .hostile import FUZZ, baggage, hostile, invalid, lanes
from .report import fuzz_case

CONFIG = LaneConfig()
MANY = settings(FUZZ, max_examples=int(os.environ.get("LANECTX_FUZZ_EXAMPLES", "400")))
W3C_MAX_MEMBERS = 180

headers = st.fixed_dictionaries(
    {},
    optional={
        "x-lane-id": st.lists(hostile, min_size=1, max_size=3),
        "x-pr-id": st.lists(hostile, min_size=1, max_size=3),
        "baggage": baggage(hostile).map(lambda pair: pair[0]),
    },
)
invalid_headers = st.fixed_dictionaries(
    {},
    optional={
        "x-lane-id": st.lists(invalid, min_size=1, max_size=3),
        "x-pr-id": st.lists(invalid, min_size=1, max_size=3),
        "baggage": baggage(invalid).map(lambda pair: pair[0]),
    },
)


@MANY
@given(headers)
def test_parser_gives_none_or_a_valid_lane(sent: dict[str, list[str]]) -> None:
    """Whatever the headers hold, the parser returns a valid lane or None, and never raises."""
    fuzz_case("parser")
    lane = lane_from_values(CONFIG, sent.get)
    assert lane is None or is_valid_lane(lane)
    first = [v.strip(" \t") for v in sent.get("x-lane-id", ())]
    if first and is_valid_lane(first[0]):
        assert lane == first[0]


@MANY
@given(invalid_headers)
def test_only_invalid_values_give_no_lane(sent: dict[str, list[str]]) -> None:
    """When every source is invalid (oversized, poisoned, empty), there is no lane."""
    fuzz_case("parser-invalid")
    assert lane_from_values(CONFIG, sent.get) is None


@MANY
@given(baggage(hostile), st.one_of(st.none(), hostile))
def test_propagator_drops_bad_lanes_and_keeps_other_members(
    sent: tuple[list[str], dict[str, str]], header: str | None
) -> None:
    """Beside OTel's baggage propagator: lane None or valid, other members as OTel's alone.

    On inject OTel's propagator sends at most 180 members (W3C's limit): past that
    the lane member can be cut, and only x-lane-id carries the lane.
    """
    fuzz_case("propagator")
    carrier = {"baggage": ",".join(sent[0])}
    if header is not None:
        carrier["x-lane-id"] = header
    w3c = W3CBaggagePropagator()
    alone = otel_baggage.get_all(w3c.extract(carrier, Context()))
    ctx = CompositePropagator([w3c, LanePropagator(CONFIG)]).extract(carrier, Context())
    lane = lanectx.current_lane(ctx, CONFIG)
    entries = otel_baggage.get_all(ctx)
    assert entries.get("lane") in (None, lane)
    assert {k: v for k, v in entries.items() if k != "lane"} == {
        k: v for k, v in alone.items() if k != "lane"
    }
    out: dict[str, str] = {}
    CompositePropagator([w3c, LanePropagator(CONFIG)]).inject(out, ctx)
    assert out.get("x-lane-id") == lane
    if len(entries) <= W3C_MAX_MEMBERS:
        assert lane_members(out) == ([lane] if lane else [])
    else:
        assert lane_members(out) in ([], [lane])


@MANY
@given(
    baggage(hostile),
    st.lists(st.tuples(st.sampled_from(["x-lane-id", "X-PR-ID", "x-other"]), hostile), max_size=3),
    st.one_of(st.none(), lanes),
    st.booleans(),
)
def test_outbound_sends_exactly_the_current_lane_or_nothing(
    sent: tuple[list[str], dict[str, str]],
    extra: list[tuple[str, str]],
    lane: str | None,
    allowed: bool,
) -> None:
    """Whatever headers a caller sets, one lane member and one x-lane-id go out, or none at all."""
    fuzz_case("outbound")
    config = LaneConfig() if allowed else LaneConfig(allowed_hosts=("reviews",))
    request = CaseInsensitiveDict({"baggage": sent[0][0], **dict(extra)})
    others = [
        m.strip(" \t")
        for m in sent[0][0].split(",")
        if unquote_plus(m.split(";")[0].split("=")[0].strip(" \t")).strip() != "lane"
    ]
    with lanectx.use_lane(lane, config):
        prepare_request(config, "127.0.0.1", request)
    out = {k.lower(): v for k, v in request.items()}
    expect = lane if allowed else None
    if allowed and lane is None:
        return  # nothing current: the caller's own headers go out as they were set
    assert out.get("x-lane-id") == expect
    if not allowed:
        assert "x-pr-id" not in out
    assert lane_members(out) == ([expect] if expect else [])
    kept = [m for m in out.get("baggage", "").split(",") if m and not m.startswith("lane=")]
    others = [m for m in others if m]
    assert kept == others[: len(kept)]
    if len(kept) < len(others):  # the rest would not fit the W3C limits beside the lane
        assert (
            len(kept) == MAX_MEMBERS - 1
            or len(out["baggage"]) + len(others[len(kept)]) >= MAX_BYTES
        )


@MANY
@given(st.text(max_size=300), lanes)
def test_with_member_leaves_exactly_one_lane(header: str, lane: str) -> None:
    """Setting the lane member on any header text leaves exactly one lane member."""
    fuzz_case("baggage-merge")
    assert list(member_values([with_member(header, "lane", lane)], "lane")) == [lane]
