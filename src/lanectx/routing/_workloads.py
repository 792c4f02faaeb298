"""Kubernetes workload objects: ServiceAccount, Services and one Deployment per version.

deployment(spec, spec.service("reviews"), "pr-7", "reviews:pr-7")
# Deployment reviews-pr-7, labels app/version/lanectx.dev/lane, env LANE_ID=pr-7
"""

from __future__ import annotations

from typing import Any

from ._model import CANARY, STABLE, Lane, LanesSpec, Service
from ._names import object_name

__all__ = [
    "LANE_LABEL",
    "LANE_MAP_DIR",
    "LANE_MAP_KEY",
    "LANE_MAP_NAME",
    "TTL_ANNOTATION",
    "deployment",
    "lane_deployments",
    "metadata",
    "service_account",
    "services",
    "version_labels",
    "version_service",
]

LANE_LABEL = "lanectx.dev/lane"
LANE_MAP_NAME = "lanectx-lanes"  # the ConfigMap holding the lane map
LANE_MAP_KEY = "lanes.json"
LANE_MAP_DIR = "/etc/lanectx/"  # where every version mounts it (LANECTX_LANE_MAP's default)
TTL_ANNOTATION = "lanectx.dev/ttl"

Manifest = dict[str, Any]


def version_labels(service: str, version: str | None) -> dict[str, str]:
    """Labels of a service's object: ``app``; a version's objects add ``version``.

    Lane versions (anything but stable and canary) also get ``lanectx.dev/lane``, so a
    lane is deleted with ``kubectl delete -l lanectx.dev/lane=<lane>``.
    """
    labels = {"app": service}
    if version is not None:
        labels["version"] = version
        if version not in (STABLE, CANARY):
            labels[LANE_LABEL] = version
    return labels


def metadata(
    kind: str, name: str, spec: LanesSpec, service: str, version: str | None = None
) -> dict[str, Any]:
    """Return checked ``metadata`` for a *kind* object of *service* (and *version*)."""
    meta: dict[str, Any] = {
        "name": object_name(kind, name),
        "namespace": spec.namespace,
        "labels": version_labels(service, version),
    }
    lane = next((lane for lane in spec.lanes if lane.name == version), None)
    if lane is not None and lane.ttl is not None:
        meta["annotations"] = {TTL_ANNOTATION: lane.ttl}
    return meta


def service_account(spec: LanesSpec, service: Service) -> Manifest:
    """Return the ServiceAccount every version of *service* runs as."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata("ServiceAccount", service.name, spec, service.name),
    }


def _ports(service: Service) -> list[dict[str, Any]]:
    """Return the Service ports; name prefix and appProtocol tell the mesh the protocol."""
    return [
        {
            "name": port.name,
            "port": port.number,
            "targetPort": port.number,
            "protocol": "TCP",
            "appProtocol": port.protocol,
        }
        for port in service.ports
    ]


def services(spec: LanesSpec, service: Service) -> Manifest:
    """Return the Service selecting every version of *service* (the mesh picks subsets)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("Service", service.name, spec, service.name),
        "spec": {"selector": {"app": service.name}, "ports": _ports(service)},
    }


def version_service(spec: LanesSpec, service: Service, version: str) -> Manifest:
    """Return a Service selecting only *version* of *service* (a Gateway API backend)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("Service", f"{service.name}-{version}", spec, service.name, version),
        "spec": {
            "selector": {"app": service.name, "version": version},
            "ports": _ports(service),
        },
    }


def _env(service: Service, version: str) -> list[dict[str, str]]:
    """Return the container environment: service name, and the lane for lane versions."""
    env = [
        {"name": "OTEL_SERVICE_NAME", "value": service.name},
        {"name": "LANECTX_SERVICE", "value": service.name},
    ]
    if version not in (STABLE, CANARY):
        env += [
            {"name": "LANE_ID", "value": version},
            {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"service.lane={version}"},
        ]
    return env


def _container(service: Service, version: str, image: str) -> dict[str, Any]:
    """Return the container: its ports (none for a queue consumer), env, the lane map mount."""
    container: dict[str, Any] = {"name": service.name, "image": image}
    if service.ports:
        container["ports"] = [
            {"name": port.name, "containerPort": port.number} for port in service.ports
        ]
    container["env"] = _env(service, version)
    container["volumeMounts"] = [
        {"name": LANE_MAP_NAME, "mountPath": LANE_MAP_DIR, "readOnly": True}
    ]
    return container


def deployment(spec: LanesSpec, service: Service, version: str, image: str) -> Manifest:
    """Return the Deployment ``<service>-<version>`` running *image*.

    It mounts the lane map (ConfigMap ``lanectx-lanes``, optional so a version
    starts before the map exists) at ``/etc/lanectx/``.
    """
    labels = version_labels(service.name, version)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            "Deployment", f"{service.name}-{version}", spec, service.name, version
        ),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": service.name, "version": version}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": service.name,
                    "containers": [_container(service, version, image)],
                    "volumes": [
                        {
                            "name": LANE_MAP_NAME,
                            "configMap": {"name": LANE_MAP_NAME, "optional": True},
                        }
                    ],
                },
            },
        },
    }


def lane_deployments(spec: LanesSpec, service: Service, lanes: list[Lane]) -> list[Manifest]:
    """Return the Deployment of each lane in *lanes* that redeploys *service*."""
    return [
        deployment(spec, service, lane.name, image)
        for lane in lanes
        if (image := lane.image_of(service.name)) is not None
    ]
