"""Rendered objects follow the routing contract: names, labels, env, route order."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from lanectx.routing import LanesSpec, parse_spec, render, render_lane

SPEC = {
    "namespace": "shop",
    "services": {
        "cart": {"port": 8080, "image": "cart:1", "canary": {"image": "cart:2", "weight": 10}},
        "prices": {"port": 50051, "protocol": "grpc", "image": "prices:1"},
    },
    "lanes": {"pr-7": {"cart": "cart:pr-7", "prices": "prices:pr-7"}, "pr-8": {"cart": "c:8"}},
}


@pytest.fixture
def spec() -> LanesSpec:
    """The spec above, parsed."""
    return parse_spec(SPEC)


def _by_lane_label(objects: list[dict[str, Any]], lane: str) -> set[str]:
    return {
        f"{obj['kind']}/{obj['metadata']['name']}"
        for obj in objects
        if obj["metadata"]["labels"].get("lanectx.dev/lane") == lane
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("istio", {"Deployment/cart-pr-7", "Deployment/prices-pr-7"}),
        (
            "gateway-api",
            {
                "Deployment/cart-pr-7",
                "Deployment/prices-pr-7",
                "Service/cart-pr-7",
                "Service/prices-pr-7",
                "HTTPRoute/cart-pr-7",
                "HTTPRoute/prices-pr-7",
            },
        ),
    ],
)
def test_lane_label_selects_exactly_the_lanes_own_objects(
    spec: LanesSpec, target: str, expected: set[str]
) -> None:
    """``kubectl delete -l lanectx.dev/lane=pr-7`` would remove exactly pr-7's objects."""
    objects = render(spec, target)
    assert _by_lane_label(objects, "pr-7") == expected
    for obj in objects:
        labels = obj["metadata"]["labels"]
        if "lanectx.dev/lane" in labels:
            assert labels["version"] == labels["lanectx.dev/lane"]
        if obj["kind"] != "ConfigMap":  # the lane map is shared by every service
            assert labels["app"] in ("cart", "prices")


def test_shared_routing_objects_carry_only_the_app_label(spec: LanesSpec) -> None:
    """DestinationRules and VirtualServices are shared: labelled ``app`` only."""
    for obj in render(spec, "istio"):
        if obj["kind"] in ("DestinationRule", "VirtualService"):
            assert obj["metadata"]["labels"] == {"app": obj["metadata"]["name"]}


def test_lane_deployment_sets_lane_env_and_version_labels(spec: LanesSpec) -> None:
    """A lane Deployment sets LANE_ID and OTEL_RESOURCE_ATTRIBUTES; stable sets neither."""
    objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in render(spec)}
    lane = objects["Deployment/cart-pr-7"]["spec"]["template"]
    env = {item["name"]: item["value"] for item in lane["spec"]["containers"][0]["env"]}
    assert env["LANE_ID"] == "pr-7"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "service.lane=pr-7"
    assert lane["metadata"]["labels"] == {
        "app": "cart",
        "version": "pr-7",
        "lanectx.dev/lane": "pr-7",
    }
    stable = objects["Deployment/cart-stable"]["spec"]["template"]["spec"]["containers"][0]
    assert {item["name"] for item in stable["env"]} == {"OTEL_SERVICE_NAME", "LANECTX_SERVICE"}


def test_subsets_are_stable_canary_and_one_per_lane(spec: LanesSpec) -> None:
    """The DestinationRule subset names are ``stable``, ``canary`` and the lane ids."""
    rules = {o["metadata"]["name"]: o for o in render(spec) if o["kind"] == "DestinationRule"}
    assert [s["name"] for s in rules["cart"]["spec"]["subsets"]] == [
        "stable",
        "canary",
        "pr-7",
        "pr-8",
    ]
    assert [s["name"] for s in rules["prices"]["spec"]["subsets"]] == ["stable", "pr-7"]


def test_route_order_is_fast_path_then_sources_then_default(spec: LanesSpec) -> None:
    """Routes: stable fast path, every lane's header, PR header, baggage, then stable."""
    (service,) = [
        o for o in render(spec) if o["kind"] == "VirtualService" and o["metadata"]["name"] == "cart"
    ]
    names = [route["name"] for route in service["spec"]["http"]]
    assert names == [
        "stable-fast-path",
        "pr-7-header",
        "pr-8-header",
        "pr-7-pr",
        "pr-8-pr",
        "pr-7-baggage",
        "pr-8-baggage",
        "stable",
    ]
    weights = [d["weight"] for d in service["spec"]["http"][0]["route"]]
    assert weights == [90, 10]  # unlaned traffic is split; lane requests never are
    assert [d["destination"]["subset"] for d in service["spec"]["http"][-1]["route"]] == ["stable"]


def test_removing_a_lane_removes_it_from_shared_routes(spec: LanesSpec) -> None:
    """Re-rendered without pr-8, cart's routes and subsets no longer mention it."""
    without = dataclasses.replace(
        spec, lanes=tuple(lane for lane in spec.lanes if lane.name != "pr-8")
    )
    text = repr([o for o in render(without) if o["kind"] in ("DestinationRule", "VirtualService")])
    assert "pr-8" not in text
    assert "pr-7" in text


def test_service_without_lanes_has_only_the_default_route() -> None:
    """No lane: the VirtualService is one route to stable's port (nothing to skip)."""
    spec = parse_spec({"services": {"cart": {"port": 80, "image": "c:1"}}})
    (service,) = [o for o in render(spec) if o["kind"] == "VirtualService"]
    host = "cart.default.svc.cluster.local"
    assert service["spec"]["http"] == [
        {
            "name": "stable",
            "route": [{"destination": {"host": host, "subset": "stable", "port": {"number": 80}}}],
        }
    ]


def test_render_lane_emits_only_that_lane_and_its_services_routes(spec: LanesSpec) -> None:
    """``render_lane`` gives pr-8's Deployment plus cart's shared routing objects."""
    names = [f"{o['kind']}/{o['metadata']['name']}" for o in render_lane(spec, "pr-8")]
    assert names == ["Deployment/cart-pr-8", "DestinationRule/cart", "VirtualService/cart"]


def test_grpc_port_is_named_for_the_protocol(spec: LanesSpec) -> None:
    """The grpc service port carries name ``grpc-<port>`` and appProtocol grpc."""
    (service,) = [
        o for o in render(spec) if o["kind"] == "Service" and o["metadata"]["name"] == "prices"
    ]
    assert service["spec"]["ports"][0]["name"] == "grpc-50051"
    assert service["spec"]["ports"][0]["appProtocol"] == "grpc"


def test_table_routing_renders_three_lane_routes_and_patches_per_port() -> None:
    """laneRouting: table has three lane routes per port and patches each on its port."""
    spec = parse_spec(
        {
            "laneRouting": "table",
            "services": {
                "cart": {"image": "c:1", "ports": [{"port": 8080}, {"port": 9090}]},
                "tax": {"port": 80, "image": "t:1"},
            },
            "lanes": {"pr-7": {"cart": "c:7"}},
        }
    )
    objects = render(spec)
    (cart,) = [
        o for o in objects if o["kind"] == "VirtualService" and "cart" in o["spec"]["hosts"][0]
    ]
    names = ["stable-fast-path", "cart.default-lanes", "cart.default-lanes-pr"]
    names.append("cart.default-lanes-baggage")
    http = cart["spec"]["http"]
    assert [route["name"] for route in http] == [
        f"{name}-{port}" for port in (8080, 9090) for name in names
    ]
    assert {m["port"] for route in http[:4] for m in route.get("match", [{"port": 8080}])} == {8080}
    assert http[-1] == {
        "name": "cart.default-lanes-baggage-9090",
        "match": [{"port": 9090}],
        "route": [
            {
                "destination": {
                    "host": "cart.default.svc.cluster.local",
                    "subset": "stable",
                    "port": {"number": 9090},
                }
            }
        ],
    }
    (envoy_filter,) = [o for o in objects if o["kind"] == "EnvoyFilter"]  # tax has no lane
    assert envoy_filter["metadata"]["namespace"] == "istio-system"
    assert envoy_filter["metadata"]["name"] == "cart.default-lanes"
    patches = envoy_filter["spec"]["configPatches"]
    ports = [p["match"]["routeConfiguration"]["portNumber"] for p in patches]
    assert ports == [8080, 8080, 8080, 9090, 9090, 9090]
    routes = [p["match"]["routeConfiguration"]["vhost"]["route"]["name"] for p in patches]
    assert routes[3:] == [f"{name}-9090" for name in names[1:]]
    lua = patches[5]["patch"]["value"]["route"]["inline_cluster_specifier_plugin"]
    assert '"outbound|9090|pr-7|cart.default.svc.cluster.local"' in str(lua)


def test_gateway_api_output_does_not_depend_on_lane_routing(spec: LanesSpec) -> None:
    """Gateway API has no lane table: laneRouting changes only the Istio objects."""
    table = dataclasses.replace(spec, lane_routing="table")
    assert render(table, "gateway-api") == render(spec, "gateway-api")
    assert render(table, "istio") != render(spec, "istio")


def test_gateway_api_routes_cover_every_port_of_a_multi_port_service() -> None:
    """Each port gets its default and lane HTTPRoutes, attached to and sending to that port."""
    spec = parse_spec(
        {
            "services": {"cart": {"image": "c:1", "ports": [{"port": 80}, {"port": 81}]}},
            "lanes": {"pr-7": {"cart": "c:7"}},
        }
    )
    routes = {
        o["metadata"]["name"]: o["spec"]
        for o in render(spec, "gateway-api")
        if o["kind"] == "HTTPRoute"
    }
    ports = {
        name: (route["parentRefs"][0]["port"], route["rules"][0]["backendRefs"][0]["port"])
        for name, route in routes.items()
    }
    assert ports == {
        "cart": (80, 80),
        "cart-http-81": (81, 81),
        "cart-pr-7": (80, 80),
        "cart-pr-7-http-81": (81, 81),
    }
