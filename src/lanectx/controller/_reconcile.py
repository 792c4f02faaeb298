"""The reconcile, as a pure function: every Lane + the base spec -> the objects and statuses.

    result = plan(base, lanes, deployments, now, target="istio")
    result.objects        # what to server-side apply: lane objects + shared routing objects
    result.lanes          # per Lane: facts, the status to write, the Events to record

All Lanes go into one lanes spec, rendered by `lanectx.routing.render`, so the shared
objects (VirtualService, DestinationRule, HTTPRoute, the lane map) always hold every
live lane; their colouring rules go into one ingress-gateway EnvoyFilter, Lanes ordered
by creation time, then name. The stable workloads of the base spec are left to the base
install.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lanectx._config import LaneConfig
from lanectx.colouring import Rules, RulesError
from lanectx.routing import SpecError, check_lane_name, parse_spec, render

from ._colouring import Outcome, colour_lanes, lane_rules
from ._lanes import (
    API_VERSION,
    KIND,
    Manifest,
    expires_at,
    lane_entry,
    parse_time,
    spec_changed_at,
)
from ._status import LaneFacts, ServiceState, deployment_state, lane_status, status_events

__all__ = [
    "BASE_KINDS",
    "LANE_LABEL",
    "MANAGED_BY",
    "MANAGER",
    "LanePlan",
    "Plan",
    "base_problem",
    "lane_of",
    "plan",
]

MANAGER = "lanectx-controller"
MANAGED_BY = "app.kubernetes.io/managed-by"
LANE_LABEL = "lanectx.dev/lane"
# Stable workloads of the base spec: installed with the base, never touched by the controller.
BASE_KINDS = frozenset({"Namespace", "ServiceAccount", "Service", "Deployment"})


@dataclass(frozen=True)
class LanePlan:
    """One Lane's outcome of a round: the facts, the status to write and its Events."""

    name: str
    uid: str
    lane: Manifest
    facts: LaneFacts
    status: dict[str, Any]
    events: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Plan:
    """The desired state of one namespace."""

    objects: tuple[Manifest, ...]
    lanes: tuple[LanePlan, ...]
    next_expiry: datetime | None


def lane_of(obj: Mapping[str, Any]) -> str | None:
    """Return the lane an object belongs to (its ``lanectx.dev/lane`` label), if any."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    lane = labels.get(LANE_LABEL)
    return str(lane) if lane else None


def base_problem(base: object) -> str | None:
    """Return why *base* cannot serve as the base spec, or None when it can."""
    if not isinstance(base, Mapping):
        return "the base spec must be a mapping"
    if base.get("lanes"):
        return "the base spec must list no lanes: each lane is a Lane object"
    try:
        parse_spec(dict(base))
    except SpecError as err:
        return str(err)
    return None


def _problem(base: Mapping[str, Any], name: str, entry: dict[str, Any]) -> str | None:
    """Return why the lane *name* with *entry* cannot be rendered, or None."""
    try:
        check_lane_name(name, "metadata.name")
        parse_spec({**base, "lanes": {name: entry}})
    except SpecError as err:
        return str(err)
    return None


def _problems(base: Mapping[str, Any], entries: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Return why each lane of *entries* that cannot be rendered cannot, by lane name.

    All lanes are parsed together first; only when that fails is each parsed alone to
    find the culprits (a spec with every lane valid is valid, and the reverse).
    """
    try:
        for name in entries:
            check_lane_name(name, "metadata.name")
        parse_spec({**base, "lanes": dict(entries)})
    except SpecError:
        found = {name: _problem(base, name, entry) for name, entry in entries.items()}
        return {name: problem for name, problem in found.items() if problem is not None}
    return {}


def _owned(obj: Manifest, lane: LanePlan | None) -> Manifest:
    """Return *obj* labelled as managed by the controller, owned by *lane* when given."""
    meta = dict(obj["metadata"])
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY: MANAGER}
    if lane is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": lane.name,
                "uid": lane.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {**obj, "metadata": meta}


def _rules(lane: Manifest) -> tuple[Rules | None, str | None]:
    """Return the colouring rules of *lane* and why they are invalid (None when valid)."""
    try:
        return lane_rules(lane), None
    except RulesError as err:
        return None, str(err)


def _created(lane: Manifest) -> tuple[datetime, str]:
    """The colouring order of *lane*: creation time (unknown: last), then name."""
    created = parse_time(lane["metadata"].get("creationTimestamp"))
    return created or datetime.max.replace(tzinfo=timezone.utc), str(lane["metadata"]["name"])


def _colouring(
    base: Mapping[str, Any],
    live: Mapping[str, tuple[Manifest, LaneFacts]],
    rules: Mapping[str, Rules],
    target: str,
    config: LaneConfig | None,
    gateway_namespace: str | None,
) -> tuple[list[Manifest], dict[str, Outcome]]:
    """Return the gateway colouring objects and each colouring Lane's outcome."""
    if target != "istio":
        why = f"the {target} target has no Istio ingress gateway to colour at"
        return [], dict.fromkeys(rules, Outcome(False, "NoGateway", why))
    ordered = sorted((live[name][0] for name in rules), key=_created)
    names = [str(lane["metadata"]["name"]) for lane in ordered]
    chosen = [(name, rules[name]) for name in names]
    result = colour_lanes(chosen, str(base["namespace"]), config, gateway_namespace)
    return list(result.objects), dict(result.outcomes)


def plan(
    base: Mapping[str, Any],
    lanes: Sequence[Manifest],
    deployments: Sequence[Mapping[str, Any]],
    now: datetime,
    target: str = "istio",
    failed: Mapping[str, str] | None = None,
    config: LaneConfig | None = None,
    gateway_namespace: str | None = None,
) -> Plan:
    """Return the objects to apply and each Lane's status for *lanes* over *base*.

    *deployments* are the lane Deployments found in the cluster (for readiness). A Lane
    that cannot be rendered gets phase Failed and takes no part; an expired one keeps
    its status and loses its objects and routes. *failed* names the lanes whose own
    objects the API server refused (with why): Failed too, and left out of the routes.
    Malformed colouring rules make a Lane Failed (``InvalidColouring``); *config* names
    the headers the gateway's colouring filter reads and sets, *gateway_namespace* where
    it goes (default: the base spec's namespace).
    """
    failed = failed or {}
    live: dict[str, tuple[Manifest, LaneFacts]] = {}
    current = sorted(
        (lane for lane in lanes if not lane["metadata"].get("deletionTimestamp")),
        key=lambda item: str(item["metadata"]["name"]),
    )
    wanted = {str(lane["metadata"]["name"]): lane_entry(lane) for lane in current}
    problems = _problems(base, wanted)
    entries: dict[str, dict[str, Any]] = {}
    colouring: dict[str, Rules] = {}
    for lane in current:
        meta = lane["metadata"]
        name = str(meta["name"])
        entry = wanted[name]
        changed = spec_changed_at(lane, now)
        facts = LaneFacts(
            generation=int(meta.get("generation", 1)),
            spec_changed_at=changed,
            expires_at=expires_at(lane, changed),
            problem=problems.get(name),
        )
        rules, invalid = _rules(lane)
        if facts.problem is None and invalid is not None:
            facts = dataclasses.replace(facts, problem=invalid, problem_reason="InvalidColouring")
        if facts.problem is None and name in failed:
            facts = dataclasses.replace(facts, problem=failed[name], problem_reason="ApplyFailed")
        live[name] = (lane, facts)
        if facts.problem is None and not facts.expired(now):
            entries[name] = entry
            if rules is not None:
                colouring[name] = rules
    rendered = render(parse_spec({**base, "lanes": entries}), target)
    coloured, outcomes = _colouring(base, live, colouring, target, config, gateway_namespace)
    rendered = [*rendered, *coloured]
    observed = {str(item["metadata"]["name"]): item for item in deployments}
    states: dict[str, list[ServiceState]] = {}
    for obj in rendered:
        lane_name = lane_of(obj)
        if obj["kind"] == "Deployment" and lane_name is not None:
            state = deployment_state(obj, observed.get(str(obj["metadata"]["name"])))
            states.setdefault(lane_name, []).append(state)
    results: dict[str, LanePlan] = {}
    for name, (lane, facts) in live.items():
        facts = dataclasses.replace(
            facts, services=tuple(states.get(name, ())), colouring=outcomes.get(name)
        )
        status = lane_status(lane, facts, now)
        uid = str(lane["metadata"].get("uid", ""))
        events = tuple(status_events(lane, status))
        results[name] = LanePlan(name, uid, lane, facts, status, events)
    objects: list[Manifest] = []
    for obj in rendered:
        lane_name = lane_of(obj)
        if lane_name is not None:
            objects.append(_owned(obj, results[lane_name]))
        elif obj["kind"] not in BASE_KINDS:
            objects.append(_owned(obj, None))
    ahead = [
        facts.expires_at
        for _, facts in live.values()
        if facts.expires_at is not None and facts.expires_at > now and facts.problem is None
    ]
    return Plan(tuple(objects), tuple(results.values()), min(ahead, default=None))
