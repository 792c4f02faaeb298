"""Both routing designs on a real Envoy, proxy by proxy as istiod would configure them.

Callers in another namespace, gateways in istio-system and in the lanes namespace, a
multi-port service behind the ingress, and two namespaces with the same service names.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conftest import Backends, subsets_of
from lanectx.localmesh import Proxy
from lanectx.routing import parse_spec, render

pytestmark = pytest.mark.envoy

GATEWAY_LABELS = {"istio": "ingressgateway"}


def _spec(namespace: str, design: str, lanes: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "laneRouting": design,
        "services": {
            "productpage": {
                "port": 9080,
                "image": "pp:1",
                "ingress": {"gateway": "istio-system/public", "hosts": [f"{namespace}.example"]},
            },
            "reviews": {"port": 9080, "image": "reviews:1"},
            "store": {
                "ports": [{"port": 8080}, {"port": 8081}],
                "image": "store:1",
                "ingress": {"gateway": "istio-system/public", "hosts": [f"store.{namespace}"]},
            },
        },
        "lanes": lanes,
    }


PROXIES = [
    Proxy("sidecar", "shop"),
    Proxy("sidecar", "ci"),
    Proxy("gateway", "istio-system", GATEWAY_LABELS),
    Proxy("gateway", "shop", GATEWAY_LABELS, ports=(8080,), name="shop-gateway"),
]


def _objects(design: str) -> list[dict[str, Any]]:
    shop = _spec("shop", design, {"pr-3": {"reviews": "r:3", "productpage": "p:3", "store": "s:3"}})
    other = _spec("other", design, {"pr-4": {"reviews": "r:4"}})
    return render(parse_spec(shop), "istio") + render(parse_spec(other), "istio")


def _backends(objects: list[dict[str, Any]]) -> Backends:
    """One echo server per namespace, service, subset (and port of the multi-port store)."""
    backends = Backends()
    for obj in objects:
        if obj["kind"] != "DestinationRule":
            continue
        namespace = obj["metadata"]["namespace"]
        for service, subset in subsets_of([obj]):
            ports = (8080, 8081) if service == "store" else (None,)
            for port in ports:
                label = f"{service}.{namespace}" + (f":{port}" if port else "")
                key = (f"{service}.{namespace}", subset, *((port,) if port else ()))
                backends.add(label, subset, key)
    return backends


@pytest.fixture(scope="module", params=["routes", "table"])
def mesh(request: pytest.FixtureRequest, start_mesh: Any) -> Any:
    """One Envoy per design holding every proxy above, for two namespaces' objects."""
    objects = _objects(request.param)
    spec = _spec("shop", request.param, {})
    return start_mesh(
        spec, objects, _backends(objects), listener="sidecar.shop:9080", proxies=PROXIES
    )


LANES = [
    ([("x-lane-id", "pr-3")], "pr-3"),
    ([("x-pr-id", "3")], "pr-3"),
    ([("baggage", "a=1, lane=pr-3")], "pr-3"),
    ([("x-lane-id", "pr-4")], "stable"),
    ([], "stable"),
]


@pytest.mark.parametrize(("headers", "subset"), LANES, ids=[str(h) for h, _ in LANES])
def test_a_caller_in_another_namespace_reaches_the_lane(
    mesh: Any, headers: list[tuple[str, str]], subset: str
) -> None:
    """A sidecar in namespace ci calling reviews.shop gets the lane version, or stable."""
    ci = mesh.via("sidecar.ci:9080")
    assert ci.send("reviews.shop", headers)[:2] == ("reviews.shop", subset)
    assert ci.send("reviews.shop.svc.cluster.local:9080", headers)[:2] == ("reviews.shop", subset)


def test_short_names_resolve_only_in_the_services_namespace(mesh: Any) -> None:
    """``reviews`` is reviews.shop from shop; from ci no route knows it (404)."""
    assert mesh.send("reviews", [("x-lane-id", "pr-3")])[:2] == ("reviews.shop", "pr-3")
    assert mesh.via("sidecar.ci:9080").status("reviews", [("x-lane-id", "pr-3")]) == 404


@pytest.mark.parametrize("listener", ["gateway.istio-system:80", "shop-gateway:8080"])
@pytest.mark.parametrize(("headers", "subset"), LANES, ids=[str(h) for h, _ in LANES])
def test_gateways_in_istio_system_and_in_the_lanes_namespace_route_lanes(
    mesh: Any, listener: str, headers: list[tuple[str, str]], subset: str
) -> None:
    """The ingress gateway sends lane traffic to the lane whichever namespace it runs in."""
    gateway = mesh.via(listener)
    assert gateway.send("shop.example", headers)[:2] == ("productpage.shop", subset)


@pytest.mark.parametrize(("headers", "subset"), LANES, ids=[str(h) for h, _ in LANES])
def test_a_multi_port_service_behind_the_ingress_gets_its_first_port(
    mesh: Any, headers: list[tuple[str, str]], subset: str
) -> None:
    """The gateway reaches store's first port (no 503), lanes included."""
    gateway = mesh.via("gateway.istio-system:80")
    assert gateway.send("store.shop", headers)[:2] == ("store.shop:8080", subset)


@pytest.mark.parametrize("port", [8080, 8081])
@pytest.mark.parametrize(("headers", "subset"), LANES, ids=[str(h) for h, _ in LANES])
def test_every_port_of_a_multi_port_service_routes_lanes(
    mesh: Any, port: int, headers: list[tuple[str, str]], subset: str
) -> None:
    """Each port of store keeps its own routes to the same port of the lane's version."""
    sidecar = mesh.via(f"sidecar.ci:{port}")
    assert sidecar.send(f"store.shop:{port}", headers)[:2] == (f"store.shop:{port}", subset)


@pytest.mark.parametrize(
    ("host", "headers", "expected"),
    [
        ("reviews.shop", [("x-lane-id", "pr-3")], ("reviews.shop", "pr-3")),
        ("reviews.shop", [("x-lane-id", "pr-4")], ("reviews.shop", "stable")),
        ("reviews.other", [("x-lane-id", "pr-4")], ("reviews.other", "pr-4")),
        ("reviews.other", [("baggage", "lane=pr-4")], ("reviews.other", "pr-4")),
        ("reviews.other", [("x-lane-id", "pr-3")], ("reviews.other", "stable")),
        ("reviews.other", [("x-pr-id", "3")], ("reviews.other", "stable")),
    ],
)
def test_two_namespaces_with_the_same_service_names_keep_their_own_lanes(
    mesh: Any, host: str, headers: list[tuple[str, str]], expected: tuple[str, str]
) -> None:
    """reviews.shop has lane pr-3 and reviews.other pr-4: neither serves the other's."""
    assert mesh.via("sidecar.ci:9080").send(host, headers)[:2] == expected


def _break(objects: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    """Return *objects* changed back to what production would route wrongly."""
    objects = copy.deepcopy(objects)
    for obj in objects:
        if how == "filter in the lanes namespace" and obj["kind"] == "EnvoyFilter":
            obj["metadata"]["namespace"] = obj["metadata"]["name"].split(".")[1].split("-")[0]
        if how == "destinations without port" and obj["kind"] == "VirtualService":
            for route in obj["spec"]["http"]:
                for destination in route["route"]:
                    destination["destination"].pop("port", None)
    return objects


def test_a_lane_table_in_the_lanes_namespace_misses_other_proxies(start_mesh: Any) -> None:
    """As istiod scopes it, a filter in shop reaches shop's sidecars, not a caller in ci
    nor the gateway in istio-system: those send the lane to stable."""
    objects = _break(_objects("table"), "filter in the lanes namespace")
    mesh = start_mesh(
        _spec("shop", "table", {}),
        objects,
        _backends(objects),
        "sidecar.shop:9080",
        proxies=PROXIES,
    )
    lane = [("x-lane-id", "pr-3")]
    assert mesh.send("reviews.shop", lane)[:2] == ("reviews.shop", "pr-3")
    assert mesh.via("sidecar.ci:9080").send("reviews.shop", lane)[:2] == ("reviews.shop", "stable")
    gateway = mesh.via("gateway.istio-system:80")
    assert gateway.send("shop.example", lane)[:2] == ("productpage.shop", "stable")


@pytest.mark.parametrize("design", ["routes", "table"])
def test_destinations_without_port_give_the_gateway_no_cluster(
    start_mesh: Any, design: str
) -> None:
    """Without a port the gateway picks the cluster of its own port 80, which the
    multi-port store lacks: 503; single-port services still resolve their port."""
    objects = _break(_objects(design), "destinations without port")
    mesh = start_mesh(
        _spec("shop", design, {}),
        objects,
        _backends(objects),
        "gateway.istio-system:80",
        proxies=PROXIES[2:3],
    )
    assert mesh.status("store.shop") == 503
    assert mesh.send("shop.example")[:2] == ("productpage.shop", "stable")
