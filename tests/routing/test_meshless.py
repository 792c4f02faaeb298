"""The mesh-less `kubernetes` target and the lane map ConfigMap every Deployment mounts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lanectx.cli import main
from lanectx.lanemap import parse_lane_map
from lanectx.routing import lane_map_configmap, load_spec, render, render_lane

GOLDEN = Path(__file__).parent / "golden"
MESHLESS = GOLDEN / "lanes-meshless.yaml"


def by_name(objects: list[dict]) -> dict[str, dict]:
    """Index objects as ``Kind/name``."""
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def test_kubernetes_target_renders_versions_and_their_services_only() -> None:
    """No mesh object; stable Service selects stable pods, each lane has `<service>-<lane>`."""
    objects = by_name(render(load_spec(MESHLESS), "kubernetes"))
    assert {key.split("/")[0] for key in objects} == {
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "Deployment",
    }
    assert objects["Service/cart"]["spec"]["selector"] == {"app": "cart", "version": "stable"}
    lane = objects["Service/cart-pr-42"]
    assert lane["spec"]["selector"] == {"app": "cart", "version": "pr-42"}
    assert lane["metadata"]["labels"]["lanectx.dev/lane"] == "pr-42"
    assert objects["Service/prices-pr-42"]["spec"]["ports"][0]["port"] == 50051


def test_a_service_without_a_port_is_a_deployment_with_no_service() -> None:
    """A queue consumer (no port) gets Deployments that mount the map, and no Service."""
    for target in ("kubernetes", "istio", "gateway-api"):
        objects = by_name(render(load_spec(MESHLESS), target))
        assert not [key for key in objects if key.startswith("Service/mailer")]
        assert not [key for key in objects if key.endswith("/mailer") and "Account" not in key]
        for name in ("Deployment/mailer-stable", "Deployment/mailer-pr-42"):
            pod = objects[name]["spec"]["template"]["spec"]
            assert "ports" not in pod["containers"][0]
            assert pod["volumes"][0]["configMap"] == {"name": "lanectx-lanes", "optional": True}


@pytest.mark.parametrize("target", ["istio", "gateway-api", "kubernetes"])
def test_every_deployment_mounts_the_lane_map_and_names_its_service(target: str) -> None:
    """Each rendered Deployment mounts lanectx-lanes at /etc/lanectx/ and sets LANECTX_SERVICE."""
    deployments = [o for o in render(load_spec(MESHLESS), target) if o["kind"] == "Deployment"]
    assert len(deployments) == 8
    for obj in deployments:
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item["value"] for item in container["env"]}
        assert env["LANECTX_SERVICE"] == obj["metadata"]["labels"]["app"]
        assert (env.get("LANECTX_ROUTING") == "client") == (target == "kubernetes")
        assert container["volumeMounts"] == [
            {"name": "lanectx-lanes", "mountPath": "/etc/lanectx/", "readOnly": True}
        ]


def test_the_rendered_lane_map_is_what_the_library_reads() -> None:
    """The ConfigMap's lanes.json parses with lanectx.lanemap into the spec's lanes."""
    configmap = lane_map_configmap(load_spec(MESHLESS), {"cart": {"pr-9"}})
    lanes = parse_lane_map(configmap["data"]["lanes.json"])
    assert lanes.lanes("cart") == {"pr-42", "pr-9"}
    assert lanes.lanes("frontend") == {"dana"}
    assert "mailer" in lanes
    assert lanes.lanes("mailer") == {"pr-42"}


def test_a_lane_of_the_kubernetes_target_is_its_own_objects_only() -> None:
    """`render lane --target kubernetes` gives the lane's Deployment and Service, nothing shared."""
    objects = by_name(render_lane(load_spec(MESHLESS), "pr-42", "kubernetes"))
    assert sorted(objects) == [
        "Deployment/cart-pr-42",
        "Deployment/mailer-pr-42",
        "Deployment/prices-pr-42",
        "Service/cart-pr-42",
        "Service/prices-pr-42",
    ]


def test_a_canary_needs_a_mesh(capsys: pytest.CaptureFixture[str]) -> None:
    """A weighted canary cannot be rendered without a mesh: one line, exit 2."""
    assert main(["render", str(GOLDEN / "lanes.yaml"), "--target", "kubernetes"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "services.cart.canary: a weighted canary needs a mesh" in err


@pytest.mark.parametrize("listing", ["not json", "[]", '{"items": 3}'])
def test_a_deployment_listing_that_is_no_list_is_refused(
    listing: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`render lane-map --deployments -` refuses input that is no `kubectl get -o json` list."""
    monkeypatch.setattr("sys.stdin", io.StringIO(listing))
    assert main(["render", "lane-map", str(MESHLESS), "--deployments", "-"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_lane_map_from_the_cluster_adds_its_lanes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lanes found in the cluster's Deployments join the spec's, other namespaces ignored."""
    monkeypatch.setattr("sys.stdin", io.StringIO((GOLDEN / "deployments-listing.json").read_text()))
    assert main(["render", "lane-map", str(MESHLESS), "--deployments", "-"]) == 0
    import yaml

    (configmap,) = yaml.safe_load_all(capsys.readouterr().out)
    services = json.loads(configmap["data"]["lanes.json"])["services"]
    assert services["cart"] == ["pr-42", "pr-77"]
    assert services["mailer"] == ["pr-42", "pr-77"]


def test_the_ci_script_applies_the_lane_map_of_the_cluster(tmp_path: Path) -> None:
    """k8s/ci/sync-lane-map.sh turns `kubectl get` output into an applied lane map."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    shim = tmp_path / "kubectl"  # stands in for the cluster's API server
    listing = GOLDEN / "deployments-listing.json"
    shim.write_text(
        "#!/bin/sh\n"
        f'case "$1" in get) cat "{listing}";; apply) cat > "{tmp_path}/applied.yaml";; esac\n'
    )
    shim.chmod(0o755)
    path = f"{tmp_path}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "NAMESPACE": "shop", "LANES_SPEC": str(MESHLESS)}
    result = subprocess.run(
        ["bash", str(root / "k8s" / "ci" / "sync-lane-map.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    import yaml

    (configmap,) = yaml.safe_load_all((tmp_path / "applied.yaml").read_text())
    assert configmap["metadata"]["name"] == "lanectx-lanes"
    assert json.loads(configmap["data"]["lanes.json"])["services"]["cart"] == ["pr-42", "pr-77"]
