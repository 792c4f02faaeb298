"""k8s/controller: valid objects, kustomize builds, RBAC that allows exactly what the
controller does, and everything the controller writes is valid against the schemas."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lanectx.routing import load_spec, parse_spec

from .conftest import ROOT, Running, lane_object, validate_manifests
from .helpers import mark_ready, phase_of, put_lane, wait_for
from .kube_mock import KubeMock
from .test_crd import lane_schema

CONTROLLER = ROOT / "k8s" / "controller"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_kustomize_builds_the_controller_layout_into_valid_objects(tmp_path: Path) -> None:
    """``kubectl kustomize k8s/controller``: CRD, RBAC, base spec, Deployment, all valid."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (scripts/bootstrap.sh installs it)")
    built = subprocess.run(
        [kubectl, "kustomize", str(CONTROLLER)], capture_output=True, text=True, check=True
    ).stdout
    path = tmp_path / "controller.yaml"
    path.write_text(built, encoding="utf-8")
    result = validate_manifests(path)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(built))
    assert kinds == [
        "ConfigMap",
        "CustomResourceDefinition",
        "Deployment",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    ]


def test_the_base_spec_configmap_matches_the_lanes_spec() -> None:
    """The controller's base spec is k8s/lanes.yaml's services, and lists no lanes."""
    (configmap,) = _docs(CONTROLLER / "base-spec.yaml")
    shipped = parse_spec(yaml.safe_load(configmap["data"]["lanes.yaml"]))
    assert shipped == load_spec(ROOT / "k8s" / "lanes.yaml")
    assert shipped.lanes == ()


def _rules() -> list[dict[str, Any]]:
    role = next(doc for doc in _docs(CONTROLLER / "rbac.yaml") if doc["kind"] == "Role")
    return list(role["rules"])


def _needs(method: str, path: str, query: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """The (apiGroup, resource, verb) permissions a request of the controller needs."""
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    resource = rest[2] + (f"/{rest[4]}" if len(rest) > 4 else "")
    named = len(rest) > 3
    if method == "GET":
        verb = "watch" if query.get("watch") == ["true"] else ("get" if named else "list")
        return [(group, resource, verb)]
    if method == "PATCH" and query.get("fieldManager") and not resource.endswith("/status"):
        return [(group, resource, "patch"), (group, resource, "create")]  # apply may create
    verbs = {"POST": "create", "PATCH": "patch", "DELETE": "delete", "PUT": "update"}
    return [(group, resource, verbs[method])]


def _allowed(need: tuple[str, str, str], rules: list[dict[str, Any]] | None = None) -> bool:
    group, resource, verb = need
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in (_rules() if rules is None else rules)
    )


def test_the_role_grants_no_wildcard_and_only_its_namespace() -> None:
    """Least privilege: a namespaced Role, no '*' anywhere, no secrets, no cluster scope."""
    kinds = {doc["kind"] for doc in _docs(CONTROLLER / "rbac.yaml")}
    assert kinds == {"Role", "RoleBinding"}
    for rule in _rules():
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
        assert "secrets" not in rule["resources"]


def test_everything_the_controller_writes_is_valid_and_allowed(
    mock: KubeMock, start_controller: Callable[..., Running], tmp_path: Path
) -> None:
    """A lane's life, colouring too: every request fits the Role; all it writes validates."""
    running = start_controller()
    lane = lane_object("pr-1", {"reviews": "reviews:pr-1", "ratings": "ratings:pr-1"})
    lane["spec"]["colouring"] = [{"name": "qa", "match": {"header": {"name": "a", "exact": "pc"}}}]
    put_lane(mock, lane)
    put_lane(mock, lane_object("pr-2", {"nosuch": "img:1"}, ttl="1h"))
    wait_for(lambda: phase_of(mock, "pr-1") == "Pending", what="pr-1")
    mark_ready(mock, "reviews-pr-1")
    mark_ready(mock, "ratings-pr-1")
    wait_for(lambda: phase_of(mock, "pr-1") == "Ready", what="Ready")
    wait_for(lambda: phase_of(mock, "pr-2") == "Failed", what="Failed")
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))  # prunes ratings-pr-1
    wait_for(lambda: "ratings-pr-1" not in mock.objects("deployments"), what="the prune")
    wait_for(lambda: not mock.objects("envoyfilters"), what="the colouring filter pruned")
    running.stop()
    for method, path, query, _, _ in mock.requests:
        for need in _needs(method, path, query):
            assert _allowed(need), f"{method} {path} needs {need}, which rbac.yaml lacks"
    applied = [
        body
        for method, path, query, _, body in mock.requests
        if method == "PATCH" and query.get("fieldManager") and not path.endswith("/status")
    ]
    events = [body for method, path, _, _, body in mock.requests if path.endswith("/events")]
    kinds = {obj["kind"] for obj in applied}
    assert kinds == {"ConfigMap", "Deployment", "DestinationRule", "EnvoyFilter", "VirtualService"}
    assert events
    path = tmp_path / "written.yaml"
    path.write_text(yaml.safe_dump_all([*applied, *events]), encoding="utf-8")
    result = validate_manifests(path)
    assert result.returncode == 0, result.stdout + result.stderr
    schema = jsonschema.Draft7Validator(lane_schema())
    statuses = [
        body["status"]
        for method, path, _, _, body in mock.requests
        if method == "PATCH" and path.endswith("/status")
    ]
    assert {status["phase"] for status in statuses} >= {"Pending", "Ready", "Failed"}
    for status in statuses:
        schema.validate({**lane_object("pr-1", {"reviews": "x"}), "status": status})


GATEWAY_LAYOUT = ROOT / "k8s" / "controller-istio-system"


def test_the_istio_system_layout_adds_only_envoyfilters_there(tmp_path: Path) -> None:
    """``kubectl kustomize k8s/controller-istio-system``: valid; the flag; one narrow Role."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (scripts/bootstrap.sh installs it)")
    built = subprocess.run(
        [kubectl, "kustomize", str(GATEWAY_LAYOUT)], capture_output=True, text=True, check=True
    ).stdout
    path = tmp_path / "controller.yaml"
    path.write_text(built, encoding="utf-8")
    result = validate_manifests(path)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = list(yaml.safe_load_all(built))
    (deployment,) = [doc for doc in docs if doc["kind"] == "Deployment"]
    assert (
        "--gateway-namespace=istio-system"
        in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    elsewhere = [doc for doc in docs if doc["metadata"].get("namespace") == "istio-system"]
    assert sorted(doc["kind"] for doc in elsewhere) == ["Role", "RoleBinding"]
    (role,) = [doc for doc in elsewhere if doc["kind"] == "Role"]
    assert role["rules"] == [
        {
            "apiGroups": ["networking.istio.io"],
            "resources": ["envoyfilters"],
            "verbs": ["list", "create", "patch", "delete"],
        }
    ]


def test_a_colouring_run_with_the_gateway_namespace_fits_both_roles(
    mock: KubeMock, start_controller: Callable[..., Running]
) -> None:
    """Every request in istio-system fits its Role there; every other one the main Role."""
    (gateway_role,) = [doc for doc in _docs(GATEWAY_LAYOUT / "rbac.yaml") if doc["kind"] == "Role"]
    running = start_controller(gateway_namespace="istio-system")
    lane = lane_object("pr-1", {"reviews": "reviews:pr-1"})
    lane["spec"]["colouring"] = [{"match": {"host": {"exact": "a.example"}}}]
    put_lane(mock, lane)
    wait_for(lambda: mock.objects("envoyfilters", "istio-system"), what="the filter applied")
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    wait_for(lambda: not mock.objects("envoyfilters", "istio-system"), what="the filter pruned")
    running.stop()
    there = 0
    for method, path, query, _, _ in mock.requests:
        in_gateway = "/namespaces/istio-system/" in path
        there += in_gateway
        rules = gateway_role["rules"] if in_gateway else _rules()
        for need in _needs(method, path, query):
            assert _allowed(need, rules), f"{method} {path} needs {need}"
    assert there >= 3  # list, apply, delete
