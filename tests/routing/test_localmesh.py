"""The local model of istiod: header semantics, protocol precondition, filter scope, layout."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest

from lanectx.localmesh import Proxy, UnsupportedRouteError, envoy_config
from lanectx.routing import parse_spec, render

SRC = Path(__file__).resolve().parents[2] / "src" / "lanectx"
SPEC = {
    "namespace": "shop",
    "laneRouting": "table",
    "services": {"cart": {"port": 8080, "image": "cart:1"}},
    "lanes": {"pr-7": {"cart": "cart:pr-7"}},
}
ENDPOINTS = {("cart", "stable"): ("127.0.0.1", 9001), ("cart", "pr-7"): ("127.0.0.1", 9002)}


def _objects() -> list[dict[str, Any]]:
    return copy.deepcopy(render(parse_spec(SPEC)))


def _hosts(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Listener name -> its virtual hosts."""
    return {
        listener["name"]: listener["filter_chains"][0]["filters"][0]["typed_config"][
            "route_config"
        ]["virtual_hosts"]
        for listener in config["static_resources"]["listeners"]
    }


def _lane_route(config: dict[str, Any], listener: str) -> dict[str, Any]:
    (vhost,) = _hosts(config)[listener]
    route: dict[str, Any] = next(r for r in vhost["routes"] if r["name"] == "cart.shop-lanes")
    return route


def test_inverted_regex_matches_also_match_a_missing_header() -> None:
    """withoutHeaders regex gets treat_missing_header_as_empty; an absence test does not."""
    config = envoy_config(_objects(), ENDPOINTS, proxies=[Proxy("sidecar", "shop")])
    (vhost,) = _hosts(config)["sidecar.shop:8080"]
    absent, not_matching = (route["match"]["headers"] for route in vhost["routes"][:2])
    baggage = {h["name"]: h for h in not_matching}["baggage"]
    assert baggage["invert_match"] is True
    assert baggage["treat_missing_header_as_empty"] is True
    absence = {"name": "baggage", "present_match": True, "invert_match": True}
    assert {h["name"]: h for h in absent}["baggage"] == absence


@pytest.mark.parametrize(
    ("port", "http"),
    [
        ({"name": "web", "port": 8080}, False),
        ({"name": "tcp-8080", "port": 8080}, False),
        ({"name": "web", "port": 8080, "appProtocol": "http"}, True),
        ({"name": "http-web", "port": 8080}, True),
        ({"name": "grpc", "port": 8080}, True),
    ],
)
def test_routes_apply_only_on_ports_that_declare_http(port: dict[str, Any], http: bool) -> None:
    """A hand-written Service port without an HTTP protocol gets no HTTP routes or patches."""
    objects = _objects()
    service = next(o for o in objects if o["kind"] == "Service")
    service["spec"]["ports"] = [port]
    config = envoy_config(objects, ENDPOINTS, proxies=[Proxy("sidecar", "shop", ports=(8080,))])
    assert bool(_hosts(config)["sidecar.shop:8080"]) is http


@pytest.mark.parametrize(
    ("selector", "labels", "patched"),
    [
        (None, {}, True),
        ({"labels": {"app": "checkout"}}, {"app": "checkout", "version": "v1"}, True),
        ({"labels": {"app": "checkout"}}, {"app": "other"}, False),
        ({"labels": {"app": "checkout"}}, {}, False),
    ],
)
def test_workload_selectors_limit_the_proxies_a_filter_reaches(
    selector: dict[str, Any] | None, labels: dict[str, str], patched: bool
) -> None:
    """A filter reaches a proxy only when the proxy has every label of its selector."""
    objects = _objects()
    envoy_filter = next(o for o in objects if o["kind"] == "EnvoyFilter")
    if selector is not None:
        envoy_filter["spec"]["workloadSelector"] = selector
    proxy = Proxy("sidecar", "ci", labels)
    route = _lane_route(envoy_config(objects, ENDPOINTS, proxies=[proxy]), "sidecar.ci:8080")
    assert ("inline_cluster_specifier_plugin" in route["route"]) is patched


@pytest.mark.parametrize(
    ("namespace", "proxy_namespace", "patched"),
    [
        ("istio-system", "ci", True),
        ("istio-system", "istio-system", True),
        ("shop", "shop", True),
        ("shop", "ci", False),
        ("ci", "shop", False),
    ],
)
def test_filters_reach_their_namespace_and_from_the_root_every_namespace(
    namespace: str, proxy_namespace: str, patched: bool
) -> None:
    """istiod gives a proxy the root namespace's filters and its own namespace's only."""
    objects = _objects()
    next(o for o in objects if o["kind"] == "EnvoyFilter")["metadata"]["namespace"] = namespace
    proxy = Proxy("sidecar", proxy_namespace)
    route = _lane_route(
        envoy_config(objects, ENDPOINTS, proxies=[proxy]), proxy.listener_name(8080)
    )
    assert ("inline_cluster_specifier_plugin" in route["route"]) is patched


def test_a_gateway_names_clusters_after_the_destination_port() -> None:
    """Gateway routes use the destination's port, not the gateway's own port 80."""
    config = envoy_config(
        render(
            parse_spec(
                {
                    **SPEC,
                    "services": {
                        "cart": {
                            **SPEC["services"]["cart"],
                            "ingress": {"gateway": "gw", "hosts": ["cart.example"]},
                        }
                    },
                }
            )
        ),
        ENDPOINTS,
        proxies=[Proxy("gateway", "istio-system")],
    )
    (vhost,) = _hosts(config)["gateway.istio-system:80"]
    assert vhost["name"] == "cart.example:80"
    assert (
        vhost["routes"][0]["route"]["cluster"] == "outbound|8080|stable|cart.shop.svc.cluster.local"
    )


def test_an_unknown_proxy_kind_is_refused() -> None:
    """Only sidecars and gateways are modelled."""
    with pytest.raises(UnsupportedRouteError, match="proxy kind 'waypoint'"):
        Proxy("waypoint", "shop")


def _imports(package: Path) -> dict[str, set[str]]:
    """Module -> the sibling modules it imports (relative or absolute)."""
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.lstrip(".").rpartition(".")[2] if node.level else node.module)
        graph[path.stem] = found
    return graph


def test_colouring_modules_import_each_other_without_a_cycle() -> None:
    """The colouring modules form an import tree (no _matchers <-> _jwt circle)."""
    graph = {
        name: {m for m in deps if m.startswith("_")}
        for name, deps in _imports(SRC / "colouring").items()
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(
            dep == target or (dep not in seen and reaches(dep, target, seen | {dep}))
            for dep in graph.get(start, set())
        )

    assert [name for name in graph if reaches(name, name, {name})] == []


def test_the_renderer_does_not_import_the_local_translation() -> None:
    """lanectx.routing ships manifests; only its compatibility alias imports lanectx.localmesh."""
    importers = [
        name
        for name, deps in _imports(SRC / "routing").items()
        if any("localmesh" in dep for dep in deps)
    ]
    assert importers == ["envoy"]


@pytest.mark.envoy
@pytest.mark.parametrize(
    ("headers", "route"),
    [([], "not-beta#0"), ([("x-tier", "gold")], "not-beta#0"), ([("x-tier", "beta")], "rest#0")],
)
def test_a_request_without_the_header_matches_an_inverted_match_on_envoy(
    start_mesh: Any, headers: list[tuple[str, str]], route: str
) -> None:
    """As in Istio, ``withoutHeaders: {x-tier: {exact: beta}}`` takes requests lacking x-tier."""
    objects = _objects()
    service = next(o for o in objects if o["kind"] == "VirtualService")
    stable, lane = ({"destination": {"host": "cart", "subset": s}} for s in ("stable", "pr-7"))
    service["spec"]["http"] = [
        {"name": "not-beta", "match": [{"withoutHeaders": {"x-tier": {"exact": "beta"}}}]}
        | {"route": [stable]},
        {"name": "rest", "route": [lane]},
    ]
    mesh = start_mesh(
        SPEC, objects, listener="sidecar.shop:8080", proxies=[Proxy("sidecar", "shop")]
    )
    assert mesh.send("cart", headers)[2] == route
