"""Helpers of the end-to-end controller tests: waiting, kubelet's part, reading the mock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .kube_mock import KubeMock

T = TypeVar("T")
NAMESPACE = "shop"
DEPLOYMENTS = "apis/apps/v1/deployments"


def wait_for(probe: Callable[[], T], timeout: float = 15.0, what: str = "the condition") -> T:
    """Poll *probe* until it returns something truthy; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def lane_status(mock: KubeMock, name: str) -> dict[str, Any]:
    """The stored status of Lane *name* ({} without one)."""
    lane = mock.objects("lanes", NAMESPACE).get(name) or {}
    return dict(lane.get("status") or {})


def phase_of(mock: KubeMock, name: str) -> str | None:
    """The phase of Lane *name*, once its current generation is reconciled."""
    lane = mock.objects("lanes", NAMESPACE).get(name)
    if lane is None:
        return None
    status = lane.get("status") or {}
    if status.get("observedGeneration") != lane["metadata"]["generation"]:
        return None
    return str(status.get("phase"))


def mark_ready(mock: KubeMock, name: str) -> None:
    """Do kubelet's part: report Deployment *name* rolled out and available."""
    deployment = mock.objects("deployments", NAMESPACE)[name]
    replicas = deployment["spec"].get("replicas", 1)
    deployment["status"] = {
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
    }
    mock.put(DEPLOYMENTS, NAMESPACE, deployment)


def routed_lanes(mock: KubeMock, service: str) -> set[str]:
    """The lane subsets the stored VirtualService of *service* routes to."""
    virtual_service = mock.objects("virtualservices", NAMESPACE).get(service)
    if virtual_service is None:
        return set()
    return {
        route["destination"]["subset"]
        for http in virtual_service["spec"]["http"]
        for route in http["route"]
        if route["destination"].get("subset") not in ("stable", "canary")
    }


def lane_map(mock: KubeMock) -> dict[str, list[str]]:
    """The ``services`` of the stored lane map ConfigMap ``lanectx-lanes`` ({} without one)."""
    configmap = mock.objects("configmaps", NAMESPACE).get("lanectx-lanes")
    if configmap is None:
        return {}
    return dict(json.loads(configmap["data"]["lanes.json"])["services"])


def event_reasons(mock: KubeMock, lane: str) -> list[str]:
    """Reasons of the Events recorded about Lane *lane*, oldest first."""
    events = [
        obj
        for obj in mock.objects("events", NAMESPACE).values()
        if obj["involvedObject"]["name"] == lane
    ]
    events.sort(key=lambda obj: int(obj["metadata"]["resourceVersion"]))
    return [str(obj["reason"]) for obj in events]


LANES = "apis/lanectx.dev/v1alpha1/lanes"


def put_lane(mock: KubeMock, lane: dict[str, Any]) -> None:
    """Create or change a Lane the way a user does, outside the controller's requests."""
    mock.put(LANES, NAMESPACE, lane)


def delete_lane(mock: KubeMock, name: str) -> None:
    """Delete a Lane (its owned objects go with it, as with the garbage collector)."""
    mock.remove(LANES, NAMESPACE, name)
