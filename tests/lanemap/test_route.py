"""Routing without a mesh: the decision for one call, from the lane map."""

from __future__ import annotations

import pytest

from lanectx import LaneConfig
from lanectx.lanemap import (
    REASON_LANE,
    REASON_NO_LANE,
    REASON_NOT_DEPLOYED,
    parse_lane_map,
    route_call,
    service_of_host,
)

CLIENT = LaneConfig(routing="client")
LANES = parse_lane_map(
    '{"services": {"reviews": ["pr-31"], "ratings": ["pr-7"], "details": []},'
    ' "endpoints": {"ratings": {"stable": "127.0.0.1:9001", "pr-7": "127.0.0.1:9007"}}}'
)


@pytest.mark.parametrize(
    ("host", "lane_host"),
    [
        ("reviews", "reviews-pr-31"),
        ("reviews.shop", "reviews-pr-31.shop"),
        ("reviews.shop.svc", "reviews-pr-31.shop.svc"),
        ("reviews.shop.svc.cluster.local", "reviews-pr-31.shop.svc.cluster.local"),
        ("Reviews.Shop.svc", "reviews-pr-31.shop.svc"),
    ],
)
def test_lane_version_is_the_per_lane_service(host: str, lane_host: str) -> None:
    """Without an endpoint, the lane version is <service>-<lane> in place of the first label."""
    config = LaneConfig(routing="client", allowed_hosts=("*",))
    route = route_call(config, host, 9080, "pr-31", LANES)
    assert route is not None
    assert (route.host, route.port, route.version, route.reason) == (
        lane_host,
        9080,
        "pr-31",
        REASON_LANE,
    )
    assert route.rerouted(host, 9080)


@pytest.mark.parametrize(
    ("lane", "reason"), [("pr-7", REASON_NOT_DEPLOYED), (None, REASON_NO_LANE)]
)
def test_other_calls_go_to_stable_as_addressed(lane: str | None, reason: str) -> None:
    """A lane without a version of the service, or no lane, goes to the host as addressed."""
    route = route_call(CLIENT, "reviews.shop.svc", 9080, lane, LANES)
    assert route is not None
    assert (route.host, route.port, route.version, route.reason) == (
        "reviews.shop.svc",
        9080,
        "stable",
        reason,
    )
    assert not route.rerouted("reviews.shop.svc", 9080)


def test_endpoints_replace_host_and_port() -> None:
    """The map's endpoints are dialled for the lane and for stable."""
    lane = route_call(CLIENT, "ratings", 50051, "pr-7", LANES)
    stable = route_call(CLIENT, "ratings", 50051, "pr-31", LANES)
    assert lane is not None
    assert stable is not None
    assert (lane.host, lane.port) == ("127.0.0.1", 9007)
    assert (stable.host, stable.port, stable.version) == ("127.0.0.1", 9001, "stable")


@pytest.mark.parametrize(
    ("config", "host"),
    [
        (LaneConfig(), "reviews"),  # mesh mode: the map never reroutes
        (CLIENT, "reviews.example.com"),  # not an allowed host
        (CLIENT, "unknown"),  # not in the map
        (CLIENT, "127.0.0.1"),  # an address names no service
        (CLIENT, "[::1]"),
        (CLIENT, None),
        (CLIENT, ""),
    ],
)
def test_calls_that_are_never_routed(config: LaneConfig, host: str | None) -> None:
    """Mesh mode, foreign hosts, addresses and services outside the map are left alone."""
    assert route_call(config, host, 80, "pr-31", LANES) is None


def test_service_of_host() -> None:
    """A host's service is its first DNS label; an address has none."""
    assert service_of_host("reviews.ns.svc.cluster.local") == "reviews"
    assert service_of_host("REVIEWS") == "reviews"
    assert service_of_host("10.1.2.3") is None
    assert service_of_host("::1") is None
    assert service_of_host(".") is None
