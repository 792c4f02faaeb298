"""The local mesh: render the bookinfo lanes spec with the chosen lanes, run it in Envoy.

The Istio objects are the ones ``lanectx render`` ships to a cluster; only the
ingress hosts are swapped for the local ones, so the same routes decide every hop::

    objects = render_mesh(SPEC, {"pr-7": ("reviews",)})
    envoy = start_envoy(objects, endpoints, port, workdir)

Without a mesh (``--mesh none``) the objects are the ``kubernetes`` target's and the
services route for themselves from a lane map file::

    objects = render_mesh(SPEC, {"pr-7": ("reviews",)}, target="kubernetes")
    write_lane_map(objects, endpoints, run_dir / "lanes.json")
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lanectx.localmesh import EnvoyProcess, envoy_config
from lanectx.routing import Ingress, Lane, load_spec, render

__all__ = [
    "LOCAL_HOSTS",
    "SPEC",
    "render_mesh",
    "service_ports",
    "start_envoy",
    "write_lane_map",
]

SPEC = Path(__file__).resolve().parents[3] / "k8s" / "lanes.yaml"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def render_mesh(
    spec_path: Path, lanes: Mapping[str, Sequence[str]], target: str = "istio"
) -> list[dict[str, Any]]:
    """Return the objects of *spec_path* plus *lanes* (lane -> services) for *target*."""
    spec = load_spec(spec_path)
    services = []
    for service in spec.services:
        if service.ingress is not None:
            hosts = (*service.ingress.hosts, *LOCAL_HOSTS)
            service = dataclasses.replace(service, ingress=Ingress(service.ingress.gateway, hosts))
        services.append(service)
    spec = dataclasses.replace(spec, services=tuple(services))
    for lane, names in lanes.items():
        images = tuple((name, f"{spec.service(name).image.split(':')[0]}:{lane}") for name in names)
        spec = spec.with_lane(Lane(lane, images))
    return render(spec, target)


def write_lane_map(
    objects: Sequence[Mapping[str, Any]],
    endpoints: Mapping[tuple[str, str], tuple[str, int]],
    path: Path,
) -> None:
    """Write the rendered lane map, plus where each version listens, as the file at *path*.

    The lanes are the ConfigMap's (exactly the stack's); ``endpoints`` stand in for the
    per-version Services a cluster would have.
    """
    (configmap,) = [obj for obj in objects if obj["kind"] == "ConfigMap"]
    lanes = json.loads(configmap["data"]["lanes.json"])
    by_service: dict[str, dict[str, str]] = {}
    for (service, version), (host, port) in sorted(endpoints.items()):
        by_service.setdefault(service, {})[version] = f"{host}:{port}"
    lanes["endpoints"] = by_service
    path.write_text(json.dumps(lanes, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def service_ports(spec_path: Path) -> dict[str, str]:
    """Return service name -> protocol (``http`` or ``grpc``) from the spec."""
    return {service.name: service.protocol for service in load_spec(spec_path).services}


def start_envoy(
    objects: Sequence[Mapping[str, Any]],
    endpoints: Mapping[tuple[str, str], tuple[str, int]],
    port: int,
    workdir: Path,
) -> EnvoyProcess:
    """Start Envoy listening on 127.0.0.1:*port* with routes translated from *objects*."""
    config = envoy_config(objects, endpoints, listen=("127.0.0.1", port))
    envoy = EnvoyProcess(config, workdir)
    envoy.start()
    return envoy
