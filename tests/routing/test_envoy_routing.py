"""Rendered Istio routes, translated to Envoy, decide on a real Envoy where requests land."""

from __future__ import annotations

from typing import Any

import pytest

from lanectx.localmesh import Proxy

pytestmark = pytest.mark.envoy

SPEC: dict[str, Any] = {
    "namespace": "shop",
    "services": {
        "productpage": {
            "port": 9080,
            "image": "pp:1",
            "ingress": {"gateway": "shop-gateway", "hosts": ["shop.example.com"]},
        },
        "reviews": {"port": 9080, "image": "reviews:1"},
        "details": {"port": 9080, "image": "details:1", "canary": {"image": "d:2", "weight": 5}},
    },
    "lanes": {
        "pr-3": {"reviews": "reviews:pr-3", "productpage": "pp:pr-3"},
        "pr-31": {"reviews": "reviews:pr-31"},
        "alice": {"reviews": "reviews:alice"},
        "pr-9": {"details": "details:pr-9"},
    },
}

MANY = ",".join(f"k{i}=v{i};p={i}" for i in range(60))

# (headers, expected subset of reviews)
CASES: list[tuple[list[tuple[str, str]], str]] = [
    ([("x-lane-id", "pr-3")], "pr-3"),
    ([("x-lane-id", "pr-31")], "pr-31"),
    ([("x-lane-id", "pr-314")], "stable"),
    ([("x-lane-id", "PR-3")], "stable"),
    ([("x-lane-id", "alice")], "alice"),
    ([("x-pr-id", "3")], "pr-3"),
    ([("x-pr-id", "pr-31")], "pr-31"),
    ([("x-pr-id", "314")], "stable"),
    ([("x-pr-id", "03")], "stable"),
    ([("baggage", "lane=pr-3")], "pr-3"),
    ([("baggage", "lane=pr-31")], "pr-31"),
    ([("baggage", "lane=pr-314")], "stable"),
    ([("baggage", "lane=pr-3x")], "stable"),
    ([("baggage", "xlane=pr-3")], "stable"),
    ([("baggage", "other=lane=pr-3")], "stable"),
    ([("baggage", "a=1;lane=pr-3")], "stable"),
    ([("baggage", "a=1;lane=pr-3,b=2")], "stable"),
    ([("baggage", "a=1,lane=pr-3;p=1")], "pr-3"),
    ([("baggage", "lane=pr-3;lane=pr-31")], "pr-3"),
    ([("baggage", "a=1 ,\t lane = pr-31 ; p = 1 , b=2")], "pr-31"),
    ([("baggage", "lane=alice\t")], "alice"),
    ([("baggage", f"{MANY},lane=alice,{MANY}")], "alice"),
    ([("baggage", f"{MANY},lane=alicex")], "stable"),
    ([("baggage", "a=1"), ("baggage", "lane=pr-31")], "pr-31"),
    ([("baggage", "a=1;p=2"), ("baggage", "lane=pr-3")], "pr-3"),
    ([("baggage", "lane=pr-31"), ("x-lane-id", "pr-3")], "pr-3"),
    ([("x-pr-id", "31"), ("baggage", "lane=pr-3")], "pr-31"),
]


@pytest.fixture(
    scope="module",
    params=[("routes", "proxies"), ("table", "proxies"), ("routes", "one"), ("table", "one")],
    ids=["routes", "table", "routes-one-listener", "table-one-listener"],
)
def mesh(request: pytest.FixtureRequest, start_mesh: Any) -> Any:
    """One Envoy per lane routing design, routing the spec above: as istiod would for a
    sidecar in shop and a gateway in istio-system, or on the one quick local listener."""
    design, view = request.param
    spec = {**SPEC, "laneRouting": design}
    if view == "one":
        mesh = start_mesh(spec)
        mesh.gateway = mesh
        return mesh
    proxies = [Proxy("sidecar", "shop"), Proxy("gateway", "istio-system")]
    mesh = start_mesh(spec, listener="sidecar.shop:9080", proxies=proxies)
    mesh.gateway = mesh.via("gateway.istio-system:80")
    return mesh


@pytest.mark.parametrize(("headers", "subset"), CASES, ids=[f"{case[0]!s:.50}" for case in CASES])
def test_lane_headers_pick_the_lane_version(
    mesh: Any, headers: list[tuple[str, str]], subset: str
) -> None:
    """Each header variant lands on the lane version it names, or on stable."""
    service, landed, _ = mesh.send("reviews", headers)
    assert (service, landed) == ("reviews", subset)


@pytest.mark.parametrize("host", ["reviews", "reviews.shop", "reviews.shop.svc.cluster.local:9080"])
def test_short_and_qualified_host_names_reach_the_service(mesh: Any, host: str) -> None:
    """Clients may address a service by short, namespaced or fully qualified name, with port."""
    assert mesh.send(host, [("x-lane-id", "alice")])[:2] == ("reviews", "alice")


@pytest.mark.parametrize(
    ("headers", "route"),
    [
        ([], "stable-fast-path#0"),
        ([("baggage", "a=1,b=2")], "stable-fast-path#1"),
        ([("baggage", "xlane=pr-3;lane=pr-3")], "stable-fast-path#1"),
        ([("baggage", "lane=nobody")], "stable#0"),
        ([("x-lane-id", "nobody")], "stable#0"),
    ],
    ids=["none", "other baggage", "lane as a property", "unknown baggage lane", "unknown lane"],
)
def test_requests_without_a_lane_take_the_fast_path(
    mesh: Any, headers: list[tuple[str, str]], route: str
) -> None:
    """Requests that name no lane skip every lane route; a lane without a version falls back."""
    if mesh.design == "table" and route == "stable#0":  # a lane table found no lane
        lanes = "reviews.shop-lanes"
        route = f"{lanes}#0" if headers[0][0] == "x-lane-id" else f"{lanes}-baggage#0"
    _, subset, matched = mesh.send("reviews", headers)
    assert (subset, matched) == ("stable", route)


def test_lane_without_a_version_of_the_service_falls_back_to_stable(mesh: Any) -> None:
    """Lane pr-31 redeploys only reviews: productpage serves it from stable."""
    assert mesh.send("productpage", [("x-lane-id", "pr-31")])[:2] == ("productpage", "stable")
    assert mesh.send("productpage", [("x-lane-id", "pr-3")])[:2] == ("productpage", "pr-3")


@pytest.mark.parametrize("pr_id", ["3", "pr-3"])
def test_ingress_host_routes_on_the_pr_header(mesh: Any, pr_id: str) -> None:
    """At the ingress the client may send only x-pr-id; the external host routes on it."""
    gateway = mesh.gateway
    assert gateway.send("shop.example.com", [("x-pr-id", pr_id)])[:2] == ("productpage", "pr-3")
    assert gateway.send("shop.example.com")[:2] == ("productpage", "stable")


def test_canary_receives_its_weight_of_unlaned_traffic(mesh: Any) -> None:
    """details splits 95/5 between stable and canary (binomial bounds, 400 requests)."""
    landed = [mesh.send("details")[1] for _ in range(400)]
    assert set(landed) == {"stable", "canary"}
    assert 4 <= landed.count("canary") <= 45


def test_lane_requests_never_reach_the_canary(mesh: Any) -> None:
    """A lane with a version of the service always gets that version, not the split."""
    landed = {mesh.send("reviews", [("x-pr-id", "31")])[1] for _ in range(30)}
    assert landed == {"pr-31"}


@pytest.mark.parametrize(
    "headers",
    [[("x-lane-id", "pr-3")], [("x-pr-id", "3")], [("baggage", "lane=pr-3")], []],
    ids=["x-lane-id", "x-pr-id", "baggage", "no lane"],
)
def test_only_unlaned_traffic_reaches_the_canary(mesh: Any, headers: list[tuple[str, str]]) -> None:
    """details has a canary and lane pr-9: a lane without a version of details (pr-3) goes
    to stable, never to the canary; only requests without a lane get the 95/5 split."""
    landed = [mesh.send("details", headers)[1] for _ in range(200)]
    assert set(landed) == ({"stable", "canary"} if not headers else {"stable"})
    assert {mesh.send("details", [("baggage", "lane=pr-9")])[1] for _ in range(20)} == {"pr-9"}


def test_table_without_pr_lanes_routes_lanes_and_sends_pr_ids_to_stable(start_mesh: Any) -> None:
    """A service whose lanes are not PR lanes has no PR table: a PR id is a lane it lacks."""
    mesh = start_mesh(
        {
            "laneRouting": "table",
            "services": {"search": {"port": 8080, "image": "s:1"}},
            "lanes": {"alice": {"search": "s:alice"}},
        }
    )
    assert mesh.send("search", [("x-lane-id", "alice")])[1] == "alice"
    assert mesh.send("search", [("baggage", "a=1, lane = alice;p")])[1] == "alice"
    assert mesh.send("search", [("x-pr-id", "3"), ("baggage", "lane=alice")])[:3] == (
        "search",
        "stable",
        "search.default-lanes-pr#0",
    )
