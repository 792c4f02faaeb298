"""Gateway API objects (GAMMA mesh routing): per-version Services and HTTPRoutes.

The shared HTTPRoute ``<service>`` (parent: the Service itself) holds only the default
rule to ``<service>-stable`` (or the canary split). Each lane gets its own HTTPRoute
``<service>-<lane>`` with the lane's header matches; implementations merge routes of
one parent and rank rules with header matches above the match-all default, so deleting
a lane's objects by label removes its routes too. A route attached to a Service port
covers only that port, so a multi-port service gets these routes once per port (the
first port's names as above, the others' ending in ``-<port name>``); its ingress
routes reach the first port::

    gateway_objects(spec, spec.service("reviews"))
"""

from __future__ import annotations

from typing import Any

from ._match import SOURCES, lane_matches
from ._model import CANARY, STABLE, Ingress, Lane, LanesSpec, Port, Service
from ._workloads import metadata, version_service

__all__ = ["API_VERSION", "gateway_objects", "lane_gateway_objects"]

API_VERSION = "gateway.networking.k8s.io/v1"
Manifest = dict[str, Any]
_MATCH_TYPES = {"exact": "Exact", "regex": "RegularExpression"}


def _backend(
    service: Service, version: str, port: Port, weight: int | None = None
) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": f"{service.name}-{version}", "port": port.number}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _parents(service: Service, ingress: Ingress | None, port: Port) -> dict[str, Any]:
    """Return ``parentRefs`` (and ``hostnames``): the Service's *port*, or the Gateway."""
    if ingress is None:
        ref = {"group": "", "kind": "Service", "name": service.name, "port": port.number}
        return {"parentRefs": [ref]}
    namespace, _, name = ingress.gateway.rpartition("/")
    gateway: dict[str, Any] = {"name": name}
    if namespace:
        gateway["namespace"] = namespace
    return {"parentRefs": [gateway], "hostnames": list(ingress.hosts)}


def _route(
    spec: LanesSpec,
    service: Service,
    name: str,
    version: str | None,
    rules: list[Any],
    ingress: Ingress | None,
    port: Port,
) -> Manifest:
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": metadata("HTTPRoute", name, spec, service.name, version),
        "spec": {**_parents(service, ingress, port), "rules": rules},
    }


def _default_rules(service: Service, port: Port) -> list[dict[str, Any]]:
    if service.canary is None:
        return [{"backendRefs": [_backend(service, STABLE, port)]}]
    weight = service.canary.weight
    backends = [
        _backend(service, STABLE, port, 100 - weight),
        _backend(service, CANARY, port, weight),
    ]
    return [{"backendRefs": backends}]


def _lane_rules(spec: LanesSpec, service: Service, lane: str, port: Port) -> list[dict[str, Any]]:
    """One rule per source (header, PR header, baggage), in precedence order."""
    sources = lane_matches(lane, spec.headers)
    return [
        {
            "matches": [
                {"headers": [{"type": _MATCH_TYPES[m.kind], "name": m.header, "value": m.value}]}
                for m in sources[source]
            ],
            "backendRefs": [_backend(service, lane, port)],
        }
        for source in SOURCES
        if source in sources
    ]


def _variants(service: Service) -> list[tuple[Ingress | None, Port, str]]:
    """(ingress or None for the mesh, port, name suffix) of each parent routes attach to."""
    first, *others = service.ports
    variants: list[tuple[Ingress | None, Port, str]] = [(None, first, "")]
    variants += [(None, port, f"-{port.name}") for port in others]
    if service.ingress is not None:
        variants.append((service.ingress, first, "-ingress"))
    return variants


def gateway_objects(spec: LanesSpec, service: Service) -> list[Manifest]:
    """Return the shared objects of *service*: version Services and the default HTTPRoute(s)."""
    objects = [version_service(spec, service, STABLE)]
    if service.canary is not None:
        objects.append(version_service(spec, service, CANARY))
    for ingress, port, suffix in _variants(service):
        rules = _default_rules(service, port)
        objects.append(_route(spec, service, service.name + suffix, None, rules, ingress, port))
    return objects


def lane_gateway_objects(spec: LanesSpec, service: Service, lane: Lane) -> list[Manifest]:
    """Return *lane*'s own objects for *service*: its Service and HTTPRoute(s)."""
    objects = [version_service(spec, service, lane.name)]
    for ingress, port, suffix in _variants(service):
        name = f"{service.name}-{lane.name}{suffix}"
        rules = _lane_rules(spec, service, lane.name, port)
        objects.append(_route(spec, service, name, lane.name, rules, ingress, port))
    return objects
