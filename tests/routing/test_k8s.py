"""The shipped k8s/ tree: valid, buildable with kustomize, in sync with its lanes spec."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lanectx.routing import files_by_kind, load_spec, render, render_lane
from lanectx.routing._model import Lane

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
LAYOUTS = [
    "base",
    "ingress",
    "telemetry",
    "overlays/staging",
    "overlays/pr-123",
    "overlays/meshless",
]
YAML_FILES = sorted([*K8S.rglob("*.yaml"), *(ROOT / ".github" / "workflows").glob("*.yaml")])


def _kustomize(layout: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / layout)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _validate(validator: Path, *paths: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(validator), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("path", YAML_FILES, ids=[str(p.relative_to(ROOT)) for p in YAML_FILES])
def test_every_yaml_file_starts_with_a_comment_saying_how_to_apply_it(path: Path) -> None:
    """Each shipped YAML file opens with a comment that says what it is and how to apply it."""
    text = path.read_text()
    assert text.startswith("# ")
    header = text.split("\n\n", 1)[0].lower()
    assert any(word in header for word in ("apply", "install", "render"))


def test_shipped_manifests_pass_the_strict_validator(validator: Path) -> None:
    """validate-manifests (strict) accepts every object under k8s/."""
    assert "OK EnvoyFilter/lanectx-strip-untrusted-lane" in _validate(validator, K8S)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kustomize_builds_each_layout_into_valid_objects(
    layout: str, validator: Path, tmp_path: Path
) -> None:
    """``kubectl kustomize`` builds each layout, and the result validates."""
    built = tmp_path / "built.yaml"
    built.write_text(_kustomize(layout))
    assert "FAIL" not in _validate(validator, built)


def test_lane_overlay_routes_reviews_to_the_lane() -> None:
    """The pr-123 overlay's reviews VirtualService has the lane routes; base has none."""

    def reviews_routes(layout: str) -> list[str]:
        (service,) = [
            doc
            for doc in yaml.safe_load_all(_kustomize(layout))
            if doc["kind"] == "VirtualService" and doc["metadata"]["name"] == "reviews"
        ]
        return [route["name"] for route in service["spec"]["http"]]

    assert reviews_routes("overlays/staging") == ["stable"]
    assert reviews_routes("overlays/pr-123") == [
        "stable-fast-path",
        "pr-123-header",
        "pr-123-pr",
        "pr-123-baggage",
        "stable",
    ]


def test_base_is_the_rendering_of_the_lanes_spec() -> None:
    """k8s/base holds exactly `lanectx render k8s/lanes.yaml -o k8s/base`."""
    for name, text in files_by_kind(render(load_spec(K8S / "lanes.yaml"))).items():
        assert (K8S / "base" / name).read_text() == text, f"regenerate k8s/base/{name}"


def test_meshless_overlay_is_the_kubernetes_rendering_of_the_lanes_spec() -> None:
    """k8s/overlays/meshless holds `lanectx render k8s/lanes.yaml --target kubernetes`."""
    rendered = files_by_kind(render(load_spec(K8S / "lanes.yaml"), "kubernetes"))
    for name, text in rendered.items():
        assert (K8S / "overlays" / "meshless" / name).read_text() == text, name


def test_meshless_overlay_has_no_mesh_objects_and_routes_in_the_clients() -> None:
    """The meshless build holds no Istio or Gateway API object; every version routes itself."""
    docs = list(yaml.safe_load_all(_kustomize("overlays/meshless")))
    assert {doc["apiVersion"] for doc in docs} == {"v1", "apps/v1"}
    services = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    assert services["reviews"]["spec"]["selector"] == {"app": "reviews", "version": "stable"}
    for doc in docs:
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            env = {item["name"]: item["value"] for item in container["env"]}
            assert env["LANECTX_ROUTING"] == "client"
            assert env["LANECTX_SERVICE"] == doc["metadata"]["labels"]["app"]


def test_lane_overlay_is_the_rendering_of_its_lane() -> None:
    """k8s/overlays/pr-123 holds the `lanectx render lane pr-123 ...` output."""
    spec = load_spec(K8S / "lanes.yaml").only_service("reviews")
    spec = spec.with_lane(Lane("pr-123", (("reviews", "ghcr.io/lanectx/bookinfo-reviews:pr-123"),)))
    for name, text in files_by_kind(render_lane(spec, "pr-123")).items():
        assert (K8S / "overlays" / "pr-123" / name).read_text() == text


def test_collector_pipelines_use_only_defined_components_and_set_the_lane() -> None:
    """The collector config is consistent and writes service.lane and lane.fallback."""
    config = yaml.safe_load((K8S / "telemetry" / "collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for section, defined in (
            ("receivers", {*config["receivers"], *config["connectors"]}),
            ("processors", set(config["processors"])),
            ("exporters", {*config["exporters"], *config["connectors"]}),
        ):
            assert set(pipeline[section]) <= defined
    statements = str(config["processors"]["transform/lane"])
    assert 'attributes["service.lane"]' in statements
    assert 'attributes["lane.fallback"]' in statements
    dimensions = [item["name"] for item in config["connectors"]["spanmetrics"]["dimensions"]]
    assert {"lane.id", "service.lane"} <= set(dimensions)


def test_ci_workflow_builds_renders_applies_tests_and_cleans_up() -> None:
    """The per-PR workflow has the deploy, cleanup and expiry jobs doing their steps."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "lane.yaml").read_text())
    jobs = workflow["jobs"]
    assert set(jobs) == {"deploy", "cleanup", "expire"}
    deploy = str(jobs["deploy"]["steps"])
    for needle in (
        "docker build",
        "lanectx render lane",
        "kubectl apply",
        "rollout status",
        "x-pr-id",
    ):
        assert needle in deploy
    assert "remove-lane.sh" in str(jobs["cleanup"]["steps"])
    script = (K8S / "ci" / "remove-lane.sh").read_text()
    assert "lanectx.dev/lane=$lane" in script
    assert "lanectx render routes" in script
