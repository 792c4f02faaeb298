"""The lane map ConfigMap and the mesh-less ``kubernetes`` target.

    lane_map_configmap(spec)          # ConfigMap lanectx-lanes, key lanes.json
    kubernetes_objects(spec)          # Deployments, Services per version, the lane map
    lanes_in_cluster(spec, listing)   # the spec's lanes plus those `kubectl get` found

Without a mesh the clients route (``LANECTX_ROUTING=client``): the Service named for
a service selects its stable pods only, each lane version has its own Service
``<service>-<lane>``, and the lane map tells the clients which lanes exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import SpecError
from ._model import STABLE, LanesSpec, Service
from ._workloads import (
    LANE_LABEL,
    LANE_MAP_DIR,
    LANE_MAP_KEY,
    LANE_MAP_NAME,
    deployment,
    lane_deployments,
    service_account,
    version_service,
)

__all__ = [
    "LANE_MAP_DIR",
    "LANE_MAP_KEY",
    "LANE_MAP_NAME",
    "kubernetes_objects",
    "lane_map_configmap",
    "lane_map_data",
    "lanes_in_cluster",
]

Manifest = dict[str, Any]


def lane_map_data(spec: LanesSpec, extra: Mapping[str, set[str]] | None = None) -> str:
    """Return the ``lanes.json`` text: every service of *spec* with its lanes, sorted."""
    services: dict[str, set[str]] = {service.name: set() for service in spec.services}
    for lane in spec.lanes:
        for name, _ in lane.images:
            services.setdefault(name, set()).add(lane.name)
    for name, lanes in (extra or {}).items():
        services.setdefault(name, set()).update(lanes)
    lines = [
        f"    {json.dumps(name)}: {json.dumps(sorted(lanes))}"
        for name, lanes in sorted(services.items())
    ]
    return '{\n  "services": {\n' + ",\n".join(lines) + "\n  }\n}\n"


def lane_map_configmap(spec: LanesSpec, extra: Mapping[str, set[str]] | None = None) -> Manifest:
    """Return the ConfigMap ``lanectx-lanes`` every rendered Deployment mounts."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": LANE_MAP_NAME,
            "namespace": spec.namespace,
            "labels": {"app.kubernetes.io/part-of": "lanectx"},
        },
        "data": {LANE_MAP_KEY: lane_map_data(spec, extra)},
    }


def lanes_in_cluster(spec: LanesSpec, listing: object) -> dict[str, set[str]]:
    """Return service -> lanes of the Deployments in *listing* (``kubectl get -o json``).

    Only Deployments labelled ``app`` and ``lanectx.dev/lane`` count; anything else
    in the listing is ignored, a listing that is not a Kubernetes list is an error.
    """
    items = listing.get("items") if isinstance(listing, dict) else None
    if not isinstance(items, list):
        raise SpecError("deployments: expected the JSON of `kubectl get deployments -o json`")
    found: dict[str, set[str]] = {}
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or meta.get("namespace", spec.namespace) != spec.namespace:
            continue
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            continue
        app, lane = labels.get("app"), labels.get(LANE_LABEL)
        if isinstance(app, str) and isinstance(lane, str) and app and lane:
            found.setdefault(app, set()).add(lane)
    return found


def _stable_service(spec: LanesSpec, service: Service) -> Manifest:
    """The Service named for *service*: its stable pods only (clients pick lane versions)."""
    obj = version_service(spec, service, STABLE)
    obj["metadata"]["name"] = service.name
    obj["metadata"]["labels"] = {"app": service.name}
    return obj


def _client_routing(obj: Manifest) -> Manifest:
    for container in obj["spec"]["template"]["spec"]["containers"]:
        container["env"].append({"name": "LANECTX_ROUTING", "value": "client"})
    return obj


def kubernetes_objects(spec: LanesSpec, service: Service) -> list[Manifest]:
    """Return *service*'s objects without a mesh: workloads, a Service per version."""
    if service.canary is not None:
        raise SpecError(
            f"services.{service.name}.canary: a weighted canary needs a mesh "
            "(use --target istio or gateway-api)"
        )
    objects = [service_account(spec, service), deployment(spec, service, STABLE, service.image)]
    lanes = lane_deployments(spec, service, list(spec.lanes))
    objects += lanes
    if service.ports:
        objects.append(_stable_service(spec, service))
        objects += [
            version_service(spec, service, obj["metadata"]["labels"]["version"]) for obj in lanes
        ]
    for obj in objects:
        if obj["kind"] == "Deployment":
            _client_routing(obj)
    return objects
