"""The controller loop end to end against the mock API server: watches, SSA, conflicts,
deletions, TTL expiry, restarts, Events and metrics."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from lanectx.controller import KubeError, LaneController

from .conftest import Running, lane_object
from .helpers import (
    delete_lane,
    event_reasons,
    lane_map,
    lane_status,
    mark_ready,
    phase_of,
    put_lane,
    routed_lanes,
    wait_for,
)
from .kube_mock import KubeMock

Start = Callable[..., Running]


def deployments(mock: KubeMock) -> set[str]:
    return set(mock.objects("deployments"))


def test_a_lane_goes_pending_then_ready_then_away(mock: KubeMock, start_controller: Start) -> None:
    """Lane created: Deployment + routes, Pending; rolled out: Ready; deleted: all gone."""
    running = start_controller()
    put_lane(mock, lane_object("pr-7", {"reviews": "reviews:pr-7"}))
    wait_for(lambda: phase_of(mock, "pr-7") == "Pending", what="Pending")
    assert "reviews-pr-7" in deployments(mock)
    assert routed_lanes(mock, "reviews") == {"pr-7"}
    mark_ready(mock, "reviews-pr-7")
    wait_for(lambda: phase_of(mock, "pr-7") == "Ready", what="Ready")
    conditions = {item["type"]: item["status"] for item in lane_status(mock, "pr-7")["conditions"]}
    assert conditions == {"Accepted": "True", "Ready": "True"}
    delete_lane(mock, "pr-7")
    wait_for(lambda: routed_lanes(mock, "reviews") == set(), what="routes without pr-7")
    assert "reviews-pr-7" not in deployments(mock)
    wait_for(lambda: "Removed" in event_reasons(mock, "pr-7"), what="the Removed event")
    assert event_reasons(mock, "pr-7") == ["SpecObserved", "Pending", "Ready", "Removed"]
    running.stop()


def test_objects_are_server_side_applied_under_one_field_manager(
    mock: KubeMock, start_controller: Start
) -> None:
    """Every object write is an apply patch, forced, by field manager lanectx-controller."""
    running = start_controller()
    put_lane(mock, lane_object("pr-3", {"reviews": "reviews:pr-3", "ratings": "ratings:pr-3"}))
    wait_for(lambda: phase_of(mock, "pr-3") == "Pending", what="Pending")
    running.stop()
    writes = [entry for entry in mock.requests if entry[0] == "PATCH"]
    applies = [entry for entry in writes if not entry[1].endswith("/status")]
    assert {entry[1].rsplit("/", 1)[1] for entry in applies} >= {"reviews-pr-3", "ratings-pr-3"}
    for _, path, query, content_type, _ in applies:
        assert content_type == "application/apply-patch+yaml", path
        assert query["fieldManager"] == ["lanectx-controller"], path
        assert query["force"] == ["true"], path
    status_writes = [entry for entry in writes if entry[1].endswith("/status")]
    assert status_writes
    assert all(entry[4]["metadata"]["resourceVersion"] for entry in status_writes)


def test_lanes_created_at_once_all_get_their_routes(
    mock: KubeMock, start_controller: Start
) -> None:
    """Five Lanes of one service created together: the shared routes hold all five."""
    start_controller()
    names = [f"pr-{number}" for number in range(10, 15)]
    threads = [
        threading.Thread(
            target=put_lane, args=(mock, lane_object(name, {"reviews": f"reviews:{name}"}))
        )
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: routed_lanes(mock, "reviews") == set(names), what="all five lanes routed")
    wait_for(lambda: all(phase_of(mock, name) == "Pending" for name in names), what="statuses")
    assert {f"reviews-{name}" for name in names} <= deployments(mock)


def test_a_conflict_on_a_write_is_retried(mock: KubeMock, start_controller: Start) -> None:
    """409 on the status write and on a shared apply: the round is run again, no update lost."""
    mock.fail("PATCH", "/lanes/pr-5/status", 409, times=2)
    mock.fail("PATCH", "/virtualservices/reviews", 409)
    running = start_controller()
    put_lane(mock, lane_object("pr-5", {"reviews": "reviews:pr-5"}))
    wait_for(lambda: phase_of(mock, "pr-5") == "Pending", what="Pending after conflicts")
    assert routed_lanes(mock, "reviews") == {"pr-5"}
    errors = running.controller.metrics.reconcile_errors.labels(reason="conflict")
    assert errors._value.get() >= 1
    wait_for(lambda: event_reasons(mock, "pr-5") == ["SpecObserved", "Pending"], what="events")


def test_a_stale_status_write_is_refused_and_redone(
    mock: KubeMock, make_controller: Callable[..., LaneController]
) -> None:
    """A Lane changed between read and status write: 409, and the next round sees the change."""
    controller = make_controller()
    put_lane(mock, lane_object("pr-6", {"reviews": "reviews:pr-6"}))
    original = controller.kube.patch_status

    def change_then_write(obj: dict[str, Any], status: dict[str, Any]) -> Any:
        put_lane(mock, lane_object("pr-6", {"reviews": "reviews:pr-6b"}))  # a user's update
        controller.kube.patch_status = original  # type: ignore[method-assign]
        return original(obj, status)

    controller.kube.patch_status = change_then_write  # type: ignore[method-assign]
    with pytest.raises(KubeError, match="409"):  # the controller's loop retries this
        controller.reconcile()
    controller.reconcile()
    status = lane_status(mock, "pr-6")
    assert status["observedGeneration"] == 2
    assert status["services"][0]["image"] == "reviews:pr-6b"


def test_a_bad_lane_gets_a_condition_and_the_others_go_on(
    mock: KubeMock, start_controller: Start
) -> None:
    """A Lane naming an unknown service is Failed with why; the loop keeps serving others."""
    running = start_controller()
    put_lane(mock, lane_object("pr-8", {"nosuch": "img:1"}))
    put_lane(mock, lane_object("pr-9", {"reviews": "reviews:pr-9"}))
    wait_for(lambda: phase_of(mock, "pr-8") == "Failed", what="Failed")
    wait_for(lambda: phase_of(mock, "pr-9") == "Pending", what="the good lane")
    accepted = lane_status(mock, "pr-8")["conditions"][0]
    assert accepted["reason"] == "InvalidSpec"
    assert "unknown service 'nosuch'" in accepted["message"]
    assert running.thread.is_alive()
    wait_for(lambda: "Failed" in event_reasons(mock, "pr-8"), what="the Failed event")


def test_a_lane_object_the_api_refuses_fails_that_lane_only(
    mock: KubeMock, start_controller: Start
) -> None:
    """422 on one lane's Deployment: that Lane is Failed (ApplyFailed), the other is deployed."""
    mock.fail("PATCH", "/deployments/reviews-pr-1", 422, times=1000)
    start_controller()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    put_lane(mock, lane_object("pr-2", {"reviews": "reviews:pr-2"}))
    wait_for(lambda: phase_of(mock, "pr-1") == "Failed", what="pr-1 Failed")
    wait_for(lambda: phase_of(mock, "pr-2") == "Pending", what="pr-2 Pending")
    assert lane_status(mock, "pr-1")["conditions"][0]["reason"] == "ApplyFailed"
    assert routed_lanes(mock, "reviews") == {"pr-2"}


def test_a_bad_base_spec_changes_nothing_until_it_is_fixed(
    mock: KubeMock, start_controller: Start, base_spec: Path
) -> None:
    """Broken base spec: rounds fail (counted), lanes keep their objects; fixed: work resumes."""
    good = base_spec.read_text(encoding="utf-8")
    running = start_controller()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    wait_for(lambda: phase_of(mock, "pr-1") == "Pending", what="pr-1")
    base_spec.write_text("services: [not, a, mapping\n", encoding="utf-8")
    put_lane(mock, lane_object("pr-2", {"reviews": "reviews:pr-2"}))
    errors = running.controller.metrics.reconcile_errors.labels(reason="spec")
    wait_for(lambda: errors._value.get() >= 1, what="a counted spec error")
    assert "reviews-pr-1" in deployments(mock)
    assert "reviews-pr-2" not in deployments(mock)
    base_spec.write_text(good, encoding="utf-8")
    wait_for(lambda: phase_of(mock, "pr-2") == "Pending", timeout=30, what="pr-2 after the fix")
    assert routed_lanes(mock, "reviews") == {"pr-1", "pr-2"}


def test_a_lane_expires_and_a_new_spec_revives_it(mock: KubeMock, start_controller: Start) -> None:
    """Past its TTL: Expired, objects and routes gone, Lane kept; a spec change restarts it."""
    offset = [timedelta(0)]
    running = start_controller(clock=lambda: datetime.now(timezone.utc) + offset[0], resync=0.5)
    put_lane(mock, lane_object("pr-4", {"reviews": "reviews:pr-4"}, ttl="30m"))
    wait_for(lambda: phase_of(mock, "pr-4") == "Pending", what="Pending")
    offset[0] = timedelta(minutes=31)
    wait_for(lambda: phase_of(mock, "pr-4") == "Expired", what="Expired")
    wait_for(lambda: "reviews-pr-4" not in deployments(mock), what="the Deployment pruned")
    assert routed_lanes(mock, "reviews") == set()
    assert "pr-4" in mock.objects("lanes")
    wait_for(lambda: event_reasons(mock, "pr-4")[-1:] == ["Expired"], what="the Expired event")
    put_lane(mock, lane_object("pr-4", {"reviews": "reviews:pr-4b"}, ttl="30m"))
    wait_for(lambda: phase_of(mock, "pr-4") == "Pending", what="Pending again")
    assert routed_lanes(mock, "reviews") == {"pr-4"}
    changed = datetime.fromisoformat(lane_status(mock, "pr-4")["specChangedAt"].replace("Z", ""))
    expires = datetime.fromisoformat(lane_status(mock, "pr-4")["expiresAt"].replace("Z", ""))
    assert expires - changed == timedelta(minutes=30)
    running.stop()


def test_a_restart_mid_way_converges_without_repeating_itself(
    mock: KubeMock, start_controller: Start, make_controller: Callable[..., LaneController]
) -> None:
    """Changes made while the controller is down are caught up; a further restart is silent."""
    first = start_controller()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1", "ratings": "ratings:pr-1"}))
    wait_for(lambda: phase_of(mock, "pr-1") == "Pending", what="pr-1")
    first.stop()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))  # ratings dropped
    put_lane(mock, lane_object("pr-2", {"ratings": "ratings:pr-2"}))
    second = start_controller()
    wait_for(lambda: phase_of(mock, "pr-2") == "Pending", what="pr-2 after the restart")
    wait_for(lambda: phase_of(mock, "pr-1") == "Pending", what="pr-1 generation 2")
    wait_for(lambda: "ratings-pr-1" not in deployments(mock), what="ratings-pr-1 pruned")
    assert routed_lanes(mock, "ratings") == {"pr-2"}
    assert routed_lanes(mock, "reviews") == {"pr-1"}
    mark_ready(mock, "reviews-pr-1")
    mark_ready(mock, "ratings-pr-2")
    wait_for(lambda: phase_of(mock, "pr-1") == phase_of(mock, "pr-2") == "Ready", what="Ready")
    second.stop()
    events = len(mock.objects("events"))
    stored = {name: obj["spec"] for name, obj in mock.objects("virtualservices").items()}
    requests = len(mock.requests)
    make_controller().reconcile()
    fresh = mock.requests[requests:]
    assert not [entry for entry in fresh if entry[1].endswith("/status")]
    assert not [entry for entry in fresh if entry[0] in ("POST", "DELETE")]
    assert len(mock.objects("events")) == events
    assert {name: obj["spec"] for name, obj in mock.objects("virtualservices").items()} == stored


def test_metrics_count_lanes_by_phase_and_reconciles(
    mock: KubeMock, start_controller: Start
) -> None:
    """/metrics serves lanes by phase, the reconcile duration histogram and error counts."""
    running = start_controller()
    server = running.controller.metrics.serve(0, "127.0.0.1")
    try:
        put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
        put_lane(mock, lane_object("pr-2", {"nosuch": "img"}))
        wait_for(lambda: phase_of(mock, "pr-2") == "Failed", what="Failed")
        mark_ready(mock, "reviews-pr-1")
        wait_for(lambda: phase_of(mock, "pr-1") == "Ready", what="Ready")
        url = f"http://127.0.0.1:{server.server_port}/metrics"

        def scrape() -> str:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())

        wait_for(lambda: 'lanectx_lanes{phase="Ready"} 1.0' in scrape(), what="the Ready gauge")
        text = scrape()
        assert 'lanectx_lanes{phase="Failed"} 1.0' in text
        assert 'lanectx_lanes{phase="Pending"} 0.0' in text
        assert "lanectx_reconcile_duration_seconds_count" in text
        assert "lanectx_reconcile_errors_total" in text or "# TYPE lanectx_reconcile_errors" in text
    finally:
        server.shutdown()
        server.server_close()


def test_a_watch_too_old_to_resume_is_listed_again(mock: KubeMock, start_controller: Start) -> None:
    """410 Gone on resuming a watch (history compacted): relist, and later changes are seen."""
    start_controller()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    wait_for(lambda: phase_of(mock, "pr-1") == "Pending", what="pr-1")
    mock.compacted = mock.store.version + 1
    wait_for(lambda: mock.gone_served >= 2, what="both watches refused with 410")
    put_lane(mock, lane_object("pr-2", {"reviews": "reviews:pr-2"}))
    wait_for(lambda: phase_of(mock, "pr-2") == "Pending", what="pr-2 after a 410")
    assert routed_lanes(mock, "reviews") == {"pr-1", "pr-2"}


def test_the_lane_map_holds_every_live_lane(mock: KubeMock, start_controller: Start) -> None:
    """ConfigMap lanectx-lanes lists each service's lanes; a deleted Lane leaves it."""
    start_controller()
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    put_lane(mock, lane_object("pr-2", {"reviews": "reviews:pr-2", "ratings": "ratings:pr-2"}))
    wait_for(
        lambda: lane_map(mock).get("reviews") == ["pr-1", "pr-2"], what="both lanes in the map"
    )
    assert lane_map(mock)["ratings"] == ["pr-2"]
    configmap = mock.objects("configmaps")["lanectx-lanes"]
    assert "ownerReferences" not in configmap["metadata"]
    delete_lane(mock, "pr-2")
    wait_for(lambda: lane_map(mock).get("reviews") == ["pr-1"], what="pr-2 out of the map")
    assert lane_map(mock)["ratings"] == []


def test_the_kubernetes_target_owns_per_lane_services(
    mock: KubeMock, start_controller: Start
) -> None:
    """--target kubernetes: the lane's Deployment and Service, owned by the Lane, no routes."""
    start_controller(target="kubernetes")
    put_lane(mock, lane_object("pr-3", {"reviews": "reviews:pr-3"}))
    wait_for(lambda: phase_of(mock, "pr-3") == "Pending", what="Pending")
    service = mock.objects("services")["reviews-pr-3"]
    uid = mock.objects("lanes")["pr-3"]["metadata"]["uid"]
    assert service["metadata"]["ownerReferences"][0]["uid"] == uid
    assert "reviews-stable" not in mock.objects("deployments")
    assert mock.objects("virtualservices") == {}
    assert lane_map(mock)["reviews"] == ["pr-3"]
    delete_lane(mock, "pr-3")
    wait_for(lambda: "reviews-pr-3" not in mock.objects("services"), what="the Service gone")


def test_an_unreachable_api_server_is_retried_not_fatal(tmp_path: Path, base_spec: Path) -> None:
    """With no API server the loop keeps retrying (errors counted as api) and stops cleanly."""
    from lanectx.controller import Metrics, connect

    with KubeMock() as gone:
        kubeconfig = gone.kubeconfig(tmp_path)
    controller = LaneController(
        connect(str(kubeconfig)), "shop", base_spec, metrics=Metrics(), watch_timeout=1
    )
    running = Running(controller)
    try:
        errors = controller.metrics.reconcile_errors.labels(reason="api")
        wait_for(lambda: errors._value.get() >= 2, what="two failed rounds")
        assert running.thread.is_alive()
    finally:
        running.stop()
