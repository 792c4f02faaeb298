"""The Lane CRD: its openAPIV3Schema accepts good Lanes and refuses bad names and services."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
import yaml

from lanectx._lane import is_valid_lane

from .conftest import ROOT, lane_object, validate_manifests

CRD_PATH = ROOT / "k8s" / "crds" / "lanes.lanectx.dev.yaml"


def lane_schema() -> dict[str, Any]:
    """The openAPIV3Schema of the served version."""
    crd = yaml.safe_load(CRD_PATH.read_text(encoding="utf-8"))
    (version,) = crd["spec"]["versions"]
    return dict(version["schema"]["openAPIV3Schema"])


def check(lane: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` when the API server would refuse *lane*."""
    jsonschema.Draft7Validator(lane_schema()).validate(lane)


def test_a_lane_as_the_cli_writes_it_is_accepted() -> None:
    """Name, services and ttl of `lanectx lane create` pass the schema."""
    check(lane_object("pr-123", {"reviews": "ghcr.io/acme/reviews:pr-123"}, ttl="72h"))


@pytest.mark.parametrize("name", ["PR-1", "pr_1", "-pr", "pr-", "a" * 41, "pr.1", ""], ids=repr)
def test_an_invalid_lane_name_is_refused(name: str) -> None:
    """metadata.name follows the lane grammar: a DNS label of at most 40 characters."""
    lane = lane_object("pr-1", {"reviews": "img:1"})
    lane["metadata"]["name"] = name
    with pytest.raises(jsonschema.ValidationError):
        check(lane)


@pytest.mark.parametrize(
    "change",
    [
        lambda spec: spec.update(services=[]),
        lambda spec: spec.pop("services"),
        lambda spec: spec["services"][0].update(name="Reviews"),
        lambda spec: spec["services"][0].update(name="1reviews"),
        lambda spec: spec["services"][0].update(name="r" * 64),
        lambda spec: spec["services"][0].pop("image"),
        lambda spec: spec["services"][0].update(image="has space"),
        lambda spec: spec["services"][0].update(image=""),
        lambda spec: spec.update(ttl="0h"),
        lambda spec: spec.update(ttl="72"),
        lambda spec: spec.update(ttl="1w"),
    ],
    ids=[
        "no-services",
        "services-missing",
        "uppercase-service",
        "digit-first-service",
        "long-service",
        "no-image",
        "space-in-image",
        "empty-image",
        "zero-ttl",
        "ttl-without-unit",
        "ttl-in-weeks",
    ],
)
def test_an_invalid_spec_is_refused(change: Any) -> None:
    """Services must be DNS-1035 labels with an image; ttl is a number of m, h or d."""
    lane = lane_object("pr-1", {"reviews": "img:1"}, ttl="1h")
    change(lane["spec"])
    with pytest.raises(jsonschema.ValidationError):
        check(lane)


def test_the_name_pattern_is_the_lane_grammar() -> None:
    """The schema's name pattern matches exactly what the library calls a valid lane."""
    pattern = lane_schema()["properties"]["metadata"]["properties"]["name"]["pattern"]
    for name in ["pr-1", "a", "a" * 40, "a" * 41, "A", "a-", "-a", "a--b", "pr_1", "9"]:
        assert bool(re.fullmatch(pattern, name)) == is_valid_lane(name), name


def test_a_status_of_every_phase_is_accepted() -> None:
    """The status fields the controller writes fit the status schema."""
    lane = lane_object("pr-1", {"reviews": "img:1"})
    for phase in ("Pending", "Ready", "Expired", "Failed"):
        with_status = copy.deepcopy(lane)
        with_status["status"] = {"phase": phase, "observedGeneration": 1}
        check(with_status)
    lane["status"] = {"phase": "Running"}
    with pytest.raises(jsonschema.ValidationError):
        check(lane)


def test_the_crd_passes_the_validator() -> None:
    """The shipped CRD is a valid apiextensions.k8s.io/v1 object."""
    result = validate_manifests(CRD_PATH)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK CustomResourceDefinition/lanes.lanectx.dev" in result.stdout
