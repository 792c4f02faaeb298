"""Render a lanes spec into Kubernetes objects for a target (``istio``, ``gateway-api``,
or ``kubernetes``: no mesh, the clients route from the lane map).

    objects = render(spec, "istio")                 # everything: stable, canary, lanes
    objects = render_lane(spec, "pr-7", "istio")    # one lane's objects + its routes
    files = files_by_kind(objects)                  # {"deployments.yaml": "...", ...}

Output is deterministic: objects sorted by kind, namespace and name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._errors import SpecError
from ._gateway import gateway_objects, lane_gateway_objects
from ._istio import destination_rule, virtual_services
from ._lane_table import envoy_filter
from ._lanemap import kubernetes_objects, lane_map_configmap
from ._model import CANARY, STABLE, LanesSpec, Service
from ._workloads import LANE_LABEL, deployment, lane_deployments, service_account, services
from ._yaml import dump_documents

__all__ = [
    "TARGETS",
    "files_by_kind",
    "render",
    "render_lane",
    "render_routes",
    "sort_objects",
    "to_yaml",
]

TARGETS = ("istio", "gateway-api", "kubernetes")
Manifest = dict[str, Any]
_KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "DestinationRule",
    "VirtualService",
    "HTTPRoute",
    "EnvoyFilter",
)


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise SpecError(f"unknown target {target!r} (choose from: {', '.join(TARGETS)})")


def sort_objects(objects: list[Manifest]) -> list[Manifest]:
    """Sort *objects* by kind (dependencies first), namespace and name.

    Two different objects of one kind, namespace and name (a lane named like another
    object's suffix) raise `SpecError`: applying both would silently keep only one.
    """
    seen: dict[tuple[str, str, str], Manifest] = {}
    for obj in objects:
        meta = obj["metadata"]
        ident = (str(obj["kind"]), str(meta.get("namespace", "")), str(meta["name"]))
        if seen.setdefault(ident, obj) != obj:
            raise SpecError(
                f"two different {ident[0]} objects would be named {ident[2]!r} in namespace "
                f"{ident[1]!r}: rename the lane or the service"
            )

    def key(obj: Manifest) -> tuple[int, str, str, str]:
        kind = str(obj["kind"])
        rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
        meta = obj["metadata"]
        return rank, kind, str(meta.get("namespace", "")), str(meta["name"])

    return sorted(objects, key=key)


def render_routes(spec: LanesSpec, service: Service, target: str = "istio") -> list[Manifest]:
    """Return *service*'s shared routing objects, holding every lane of *spec*.

    A service without a port has none, and neither has any service without a mesh.
    """
    _check_target(target)
    if not service.ports or target == "kubernetes":
        return []
    if target == "istio":
        objects = [destination_rule(spec, service), *virtual_services(spec, service)]
        if spec.lane_routing == "table" and spec.lanes_of(service.name):
            objects.append(envoy_filter(spec, service))
        return objects
    return gateway_objects(spec, service)


def _lane_routing(spec: LanesSpec, service: Service, target: str) -> list[Manifest]:
    """Return the lane-specific routing objects of every lane of *service* (Gateway API)."""
    if target != "gateway-api" or not service.ports:
        return []
    return [
        obj
        for lane in spec.lanes_of(service.name)
        for obj in lane_gateway_objects(spec, service, lane)
    ]


def render(spec: LanesSpec, target: str = "istio") -> list[Manifest]:
    """Return every object of *spec*: the lane map, workloads of each version, then routing."""
    _check_target(target)
    objects: list[Manifest] = [lane_map_configmap(spec)]
    for service in spec.services:
        if target == "kubernetes":
            objects += kubernetes_objects(spec, service)
            continue
        objects.append(service_account(spec, service))
        if service.ports:
            objects.append(services(spec, service))
        objects.append(deployment(spec, service, STABLE, service.image))
        if service.canary is not None:
            objects.append(deployment(spec, service, CANARY, service.canary.image))
        objects += lane_deployments(spec, service, list(spec.lanes))
        objects += render_routes(spec, service, target)
        objects += _lane_routing(spec, service, target)
    return sort_objects(objects)


def render_lane(spec: LanesSpec, lane: str, target: str = "istio") -> list[Manifest]:
    """Return *lane*'s own objects plus the routing objects of each service it redeploys."""
    _check_target(target)
    found = next((item for item in spec.lanes if item.name == lane), None)
    if found is None:
        raise SpecError(f"lane {lane!r} is not in the spec")
    objects: list[Manifest] = []
    for name, _ in found.images:
        service = spec.service(name)
        if target == "kubernetes":
            lane_only = dataclasses.replace(spec, lanes=(found,))
            objects += [o for o in kubernetes_objects(lane_only, service) if _of_lane(o, lane)]
            continue
        objects += lane_deployments(spec, service, [found])
        objects += render_routes(spec, service, target)
        if target == "gateway-api" and service.ports:
            objects += lane_gateway_objects(spec, service, found)
    return sort_objects(objects)


def _of_lane(obj: Manifest, lane: str) -> bool:
    return bool(obj["metadata"].get("labels", {}).get(LANE_LABEL) == lane)


def to_yaml(objects: list[Manifest], what: str = "Kubernetes objects") -> str:
    """Return *objects* as multi-document YAML headed by a comment saying how to apply it."""
    header = (
        f"# {what}, rendered by `lanectx render`.\n# Apply with: kubectl apply -f <this file>\n"
    )
    return dump_documents(objects, header)


def files_by_kind(objects: list[Manifest]) -> dict[str, str]:
    """Return one YAML text per object kind, keyed by file name (``deployments.yaml``...)."""
    grouped: dict[str, list[Manifest]] = {}
    for obj in sort_objects(objects):
        grouped.setdefault(str(obj["kind"]), []).append(obj)
    return {
        f"{kind.lower()}s.yaml": to_yaml(items, f"{kind} objects")
        for kind, items in sorted(grouped.items())
    }
