"""A Lane's status from what was rendered and observed, and the Events its changes make.

    state = deployment_state(desired_deployment, observed_deployment)
    status = lane_status(lane, LaneFacts(...), now)
    events = status_events(lane, status)      # [] when nothing changed

Pure functions; the controller writes their results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._colouring import Outcome
from ._lanes import Manifest, format_time, status_of

COLOURED = "Coloured"

__all__ = [
    "COLOURED",
    "EXPIRED",
    "FAILED",
    "PENDING",
    "PHASES",
    "READY",
    "LaneFacts",
    "ServiceState",
    "deployment_state",
    "lane_status",
    "status_events",
]

PENDING, READY, EXPIRED, FAILED = "Pending", "Ready", "Expired", "Failed"
PHASES = (PENDING, READY, EXPIRED, FAILED)


@dataclass(frozen=True)
class ServiceState:
    """How one of a lane's services stands: ready, failed for good, and why."""

    name: str
    image: str
    ready: bool
    failed: bool
    message: str


@dataclass(frozen=True)
class LaneFacts:
    """What the controller found out about one Lane in this round."""

    generation: int
    spec_changed_at: datetime
    expires_at: datetime | None
    problem: str | None  # the spec error or apply error that keeps the lane from running
    services: tuple[ServiceState, ...] = ()
    problem_reason: str = "InvalidSpec"
    colouring: Outcome | None = None  # how its colouring rules fared (None: it has none)

    def expired(self, now: datetime) -> bool:
        """Whether the TTL has run out at *now*."""
        return self.expires_at is not None and self.expires_at <= now


def _container_image(deployment: Mapping[str, Any]) -> str:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {})
    items = containers.get("containers") or [{}]
    return str(items[0].get("image", ""))


def deployment_state(desired: Manifest, observed: Mapping[str, Any] | None) -> ServiceState:
    """Return the state of lane Deployment *desired*, given the cluster's copy *observed*."""
    service = str(desired["metadata"]["labels"].get("app", desired["metadata"]["name"]))
    image = _container_image(desired)

    def state(ready: bool, message: str, failed: bool = False) -> ServiceState:
        return ServiceState(service, image, ready, failed, message)

    if observed is None:
        return state(False, "no Deployment yet")
    if _container_image(observed) != image:
        return state(False, f"Deployment still runs {_container_image(observed)!r}")
    status = observed.get("status") or {}
    generation = observed.get("metadata", {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return state(False, "rollout not started yet")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("status") == "False":
            reason = condition.get("reason", "")
            return state(False, f"{reason}: {condition.get('message', '')}".strip(), True)
    replicas = desired["spec"].get("replicas", 1)
    available = status.get("availableReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    if available >= replicas and updated >= replicas:
        return state(True, f"{available}/{replicas} available")
    return state(False, f"{available}/{replicas} available")


def _phase(facts: LaneFacts, now: datetime) -> tuple[str, str, str]:
    """Return phase, reason and message."""
    if facts.problem is not None:
        return FAILED, facts.problem_reason, facts.problem
    if facts.expired(now):
        return EXPIRED, "Expired", "the TTL ran out; the lane's objects and routes are removed"
    broken = [item for item in facts.services if item.failed]
    if broken:
        text = "; ".join(f"{item.name}: {item.message}" for item in broken)
        return FAILED, "DeploymentFailed", text
    waiting = [item for item in facts.services if not item.ready]
    if waiting:
        text = "; ".join(f"{item.name}: {item.message}" for item in waiting)
        return PENDING, "Progressing", text
    return READY, "AllServicesReady", "every service of the lane is available and routed"


def _conditions(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The conditions of *status* that are mappings (anything else is ignored)."""
    items = status.get("conditions")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _condition(
    old: Mapping[str, Any],
    kind: str,
    ok: bool,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """A condition; its lastTransitionTime moves only when its status does."""
    status = "True" if ok else "False"
    previous = next((item for item in _conditions(old) if item.get("type") == kind), None)
    since = now
    if previous is not None and previous.get("status") == status:
        since = previous.get("lastTransitionTime") or now
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": since,
    }


def lane_status(lane: Mapping[str, Any], facts: LaneFacts, now: datetime) -> dict[str, Any]:
    """Return the whole ``status`` that *lane* should carry after this round."""
    old = status_of(lane)
    phase, reason, message = _phase(facts, now)
    stamp = format_time(now)
    accepted = facts.problem is None and phase != EXPIRED
    accepted_reason = "Applied" if accepted else reason
    status: dict[str, Any] = {
        "phase": phase,
        "observedGeneration": facts.generation,
        "specChangedAt": format_time(facts.spec_changed_at),
        "services": [
            {"name": item.name, "image": item.image, "ready": item.ready, "message": item.message}
            for item in facts.services
        ],
        "conditions": [
            _condition(
                old,
                "Accepted",
                accepted,
                accepted_reason,
                "objects and routes applied" if accepted else message,
                facts.generation,
                stamp,
            ),
            _condition(old, "Ready", phase == READY, reason, message, facts.generation, stamp),
        ],
    }
    if facts.colouring is not None:
        outcome = facts.colouring
        coloured = _condition(
            old, COLOURED, outcome.ok, outcome.reason, outcome.message, facts.generation, stamp
        )
        status["conditions"].append(coloured)
    if facts.expires_at is not None:
        status["expiresAt"] = format_time(facts.expires_at)
    return status


def status_events(lane: Mapping[str, Any], status: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Return the Events (type, reason, message) that moving *lane* to *status* makes.

    One per new generation seen, one per phase change and one per change of the
    ``Coloured`` condition: the audit trail of the lane.
    """
    old = status_of(lane)
    events: list[tuple[str, str, str]] = []
    generation = status["observedGeneration"]
    if old.get("observedGeneration") != generation:
        services = ", ".join(f"{item['name']}={item['image']}" for item in status["services"])
        events.append(("Normal", "SpecObserved", f"generation {generation}: {services or '-'}"))
    if old.get("phase") != status["phase"]:
        ready = next(item for item in status["conditions"] if item["type"] == "Ready")
        kind = "Warning" if status["phase"] == FAILED else "Normal"
        events.append(
            (
                kind,
                status["phase"],
                f"{old.get('phase') or 'New'} -> {status['phase']}: {ready['message']}",
            )
        )
    coloured = next((item for item in status["conditions"] if item["type"] == COLOURED), None)
    before = next((item for item in _conditions(old) if item.get("type") == COLOURED), {})
    if coloured is not None and (before.get("status"), before.get("reason")) != (
        coloured["status"],
        coloured["reason"],
    ):
        kind = "Normal" if coloured["status"] == "True" else "Warning"
        events.append((kind, coloured["reason"], coloured["message"]))
    return events
