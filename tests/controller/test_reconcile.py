"""The reconcile as a pure function: Lanes + base spec + observed Deployments -> plan."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from lanectx.controller import EXPIRED, FAILED, PENDING, READY, plan
from lanectx.controller._reconcile import base_problem

from .conftest import BASE_SPEC, lane_object, validate_manifests

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BASE = yaml.safe_load(BASE_SPEC)


def stored(lane: dict[str, Any], uid: str = "", generation: int = 1) -> dict[str, Any]:
    """*lane* as the API server returns it: uid, generation, creation time."""
    lane = copy.deepcopy(lane)
    lane["metadata"].update(
        uid=uid or f"uid-{lane['metadata']['name']}",
        generation=generation,
        creationTimestamp="2026-12-01T11:00:00Z",
        resourceVersion="7",
    )
    return lane


def ready_deployment(desired: dict[str, Any], image: str | None = None) -> dict[str, Any]:
    """The cluster's copy of Deployment *desired*, rolled out and available."""
    observed = copy.deepcopy(desired)
    if image is not None:
        observed["spec"]["template"]["spec"]["containers"][0]["image"] = image
    observed["metadata"]["generation"] = 1
    observed["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
    }
    return observed


def lane_deployment(result: Any) -> dict[str, Any]:
    """The one lane Deployment of a plan."""
    (deployment,) = [obj for obj in result.objects if obj["kind"] == "Deployment"]
    return dict(deployment)


def by_key(objects: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def route_lanes(virtual_service: dict[str, Any]) -> set[str]:
    """Lanes whose subset a VirtualService routes to."""
    return {
        route["destination"]["subset"]
        for http in virtual_service["spec"]["http"]
        for route in http["route"]
        if route["destination"].get("subset") not in ("stable", "canary")
    }


def test_two_lanes_of_one_service_share_its_routes_and_own_their_deployments() -> None:
    """Both lanes appear in the shared VirtualService; each Deployment is owned by its Lane."""
    lanes = [
        stored(lane_object("pr-1", {"reviews": "reviews:pr-1"})),
        stored(lane_object("pr-2", {"reviews": "reviews:pr-2", "ratings": "ratings:pr-2"})),
    ]
    objects = by_key(plan(BASE, lanes, [], NOW).objects)
    assert route_lanes(objects["VirtualService", "reviews"]) == {"pr-1", "pr-2"}
    assert route_lanes(objects["VirtualService", "ratings"]) == {"pr-2"}
    owner = objects["Deployment", "reviews-pr-2"]["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "lanectx.dev/v1alpha1",
        "kind": "Lane",
        "name": "pr-2",
        "uid": "uid-pr-2",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert "ownerReferences" not in objects["VirtualService", "reviews"]["metadata"]
    assert all(
        obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "lanectx-controller"
        for obj in objects.values()
    )


def test_stable_workloads_are_left_to_the_base_install() -> None:
    """No stable Deployment, Service or ServiceAccount is in the plan, only lane ones."""
    lanes = [stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}))]
    objects = by_key(plan(BASE, lanes, [], NOW).objects)
    assert ("Deployment", "reviews-stable") not in objects
    assert not [key for key in objects if key[0] in ("Service", "ServiceAccount", "Namespace")]
    assert ("Deployment", "reviews-pr-1") in objects


@pytest.mark.parametrize(
    ("services", "name", "needle"),
    [
        ({"nosuch": "img:1"}, "pr-1", "unknown service 'nosuch'"),
        ({"reviews": "has space"}, "pr-1", "without spaces"),
        ({}, "pr-1", "at least one service"),
        ({"reviews": "img:1"}, "stable", "reserved"),
        ({"reviews": "img:1"}, "Bad_Name", "invalid lane name"),
    ],
)
def test_a_bad_lane_fails_alone(services: dict[str, str], name: str, needle: str) -> None:
    """A Lane that cannot be rendered is Failed with the reason; a good one is unaffected."""
    lanes = [
        stored(lane_object(name, services)),
        stored(lane_object("pr-9", {"reviews": "reviews:pr-9"})),
    ]
    result = plan(BASE, lanes, [], NOW)
    statuses = {item.name: item.status for item in result.lanes}
    bad = statuses[name]
    assert bad["phase"] == FAILED
    accepted = bad["conditions"][0]
    assert (accepted["type"], accepted["status"], accepted["reason"]) == (
        "Accepted",
        "False",
        "InvalidSpec",
    )
    assert needle in accepted["message"]
    assert statuses["pr-9"]["phase"] == PENDING
    assert route_lanes(by_key(result.objects)["VirtualService", "reviews"]) == {"pr-9"}


def test_the_ttl_counts_from_creation_and_an_expired_lane_loses_its_objects() -> None:
    """Created 11:00 with 30m: Expired at 12:00, no Deployment, not in the routes."""
    lane = stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}, ttl="30m"))
    result = plan(BASE, [lane], [], NOW)
    status = result.lanes[0].status
    assert status["phase"] == EXPIRED
    assert status["expiresAt"] == "2026-12-01T11:30:00Z"
    objects = by_key(result.objects)
    assert ("Deployment", "reviews-pr-1") not in objects
    assert route_lanes(objects["VirtualService", "reviews"]) == set()
    assert result.next_expiry is None


def test_a_new_generation_restarts_the_ttl() -> None:
    """A spec change (generation 2) counts the TTL from the time it is first seen."""
    lane = stored(lane_object("pr-1", {"reviews": "reviews:pr-2"}, ttl="30m"), generation=2)
    lane["status"] = {"observedGeneration": 1, "specChangedAt": "2026-12-01T11:00:00Z"}
    result = plan(BASE, [lane], [], NOW)
    assert result.lanes[0].status["phase"] == PENDING
    assert result.lanes[0].status["specChangedAt"] == "2026-12-01T12:00:00Z"
    assert result.next_expiry == NOW + timedelta(minutes=30)


def test_the_lane_is_ready_when_its_deployments_run_its_images() -> None:
    """Ready needs every lane Deployment available with the lane's image."""
    lanes = [stored(lane_object("pr-1", {"reviews": "reviews:pr-1", "ratings": "ratings:pr-1"}))]
    first = plan(BASE, lanes, [], NOW)
    deployments = [obj for obj in first.objects if obj["kind"] == "Deployment"]
    ready = plan(BASE, lanes, [ready_deployment(obj) for obj in deployments], NOW)
    assert ready.lanes[0].status["phase"] == READY
    assert all(item["ready"] for item in ready.lanes[0].status["services"])
    stale = [ready_deployment(deployments[0], image="old:1"), ready_deployment(deployments[1])]
    waiting = plan(BASE, lanes, stale, NOW).lanes[0].status
    assert waiting["phase"] == PENDING
    assert "still runs 'old:1'" in waiting["conditions"][1]["message"]


def test_a_deployment_past_its_progress_deadline_fails_the_lane() -> None:
    """ProgressDeadlineExceeded on a lane Deployment makes the Lane Failed (DeploymentFailed)."""
    lanes = [stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}))]
    desired = lane_deployment(plan(BASE, lanes, [], NOW))
    observed = ready_deployment(desired)
    observed["status"]["availableReplicas"] = 0
    observed["status"]["conditions"] = [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    ]
    status = plan(BASE, lanes, [observed], NOW).lanes[0].status
    assert status["phase"] == FAILED
    assert status["conditions"][1]["reason"] == "DeploymentFailed"


def test_a_round_over_its_own_result_changes_nothing() -> None:
    """Idempotent: with the written status in place, the same status and no Events."""
    lane = stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}, ttl="7d"))
    first = plan(BASE, [lane], [], NOW).lanes[0]
    assert [event[1] for event in first.events] == ["SpecObserved", PENDING]
    lane["status"] = first.status
    later = plan(BASE, [lane], [], NOW + timedelta(minutes=5)).lanes[0]
    assert later.status == first.status
    assert later.events == ()


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    """lastTransitionTime of Ready moves when Ready turns True, not on every round."""
    lane = stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    first = plan(BASE, [lane], [], NOW).lanes[0]
    lane["status"] = first.status
    desired = lane_deployment(plan(BASE, [lane], [], NOW))
    later = NOW + timedelta(minutes=3)
    ready = plan(BASE, [lane], [ready_deployment(desired)], later).lanes[0]
    accepted, ready_condition = ready.status["conditions"]
    assert accepted["lastTransitionTime"] == "2026-12-01T12:00:00Z"
    assert ready_condition["lastTransitionTime"] == "2026-12-01T12:03:00Z"
    assert [event[1] for event in ready.events] == [READY]


def test_a_lane_being_deleted_takes_no_part() -> None:
    """A Lane with a deletionTimestamp gets no status and is out of the routes."""
    lane = stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    lane["metadata"]["deletionTimestamp"] = "2026-12-01T11:59:00Z"
    result = plan(BASE, [lane], [], NOW)
    assert result.lanes == ()
    assert route_lanes(by_key(result.objects)["VirtualService", "reviews"]) == set()


@pytest.mark.parametrize(
    ("base", "needle"),
    [
        ({**BASE, "lanes": {"pr-1": {"reviews": "x"}}}, "must list no lanes"),
        ({"services": {}}, "names no service"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_a_bad_base_spec_is_reported(base: object, needle: str) -> None:
    """The base spec is refused with a reason when it lists lanes or is invalid."""
    problem = base_problem(base)
    assert problem is not None
    assert needle in problem


def test_every_planned_object_passes_the_strict_validator(tmp_path: Path) -> None:
    """The objects of a plan with several lanes validate against the real CRD schemas."""
    lanes = [
        stored(lane_object("pr-1", {"reviews": "reviews:pr-1"}, ttl="72h")),
        stored(lane_object("pr-2", {"ratings": "ratings:pr-2", "productpage": "pp:pr-2"})),
    ]
    for target in ("istio", "gateway-api"):
        path = tmp_path / f"{target}.yaml"
        objects = plan(BASE, lanes, [], NOW, target).objects
        path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
        result = validate_manifests(path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("OK ") == len(objects)


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ({"services": "reviews"}, "garbage"),
        ({"services": [1, None, {"name": 7}]}, {"conditions": [1, "x"], "phase": 3}),
        (None, {"conditions": "none", "specChangedAt": "yesterday", "observedGeneration": 1}),
        ({"services": [{"name": "reviews", "image": 42}], "ttl": 5}, []),
    ],
    ids=["string-services", "junk-items", "no-spec", "wrong-types"],
)
def test_malformed_lanes_are_failed_not_raised(spec: object, status: object) -> None:
    """Shapes the CRD would refuse (written before it, or by hand) give Failed, no exception."""
    lane = stored(lane_object("pr-1", {"reviews": "x"}))
    lane["spec"], lane["status"] = spec, status
    good = stored(lane_object("pr-2", {"reviews": "reviews:pr-2"}))
    result = plan(BASE, [lane, good], [], NOW)
    phases = {item.name: item.status["phase"] for item in result.lanes}
    assert phases == {"pr-1": FAILED, "pr-2": PENDING}
