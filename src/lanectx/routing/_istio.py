"""Istio routing objects: a DestinationRule and VirtualService(s) per service.

Route order in each VirtualService: the stable fast path (no lane header, no PR header,
no baggage ``lane`` member: straight to stable without testing any lane), then the
lane routes grouped by source in precedence order (every lane's header match, then
PR header, then baggage), then stable, for lanes without a version of the service.
Every destination names its port: a gateway would otherwise pick the cluster of its
own port (Istio's ``GetDestinationCluster``), which a multi-port service lacks. A
multi-port service gets this list once per port, each match limited to its port and
each route name ending in ``-<port>``; its ingress VirtualService reaches the first
port::

    destination_rule(spec, spec.service("reviews"))
    virtual_services(spec, spec.service("reviews"))
"""

from __future__ import annotations

from typing import Any

from ._match import SOURCES, HeaderMatch, any_member_regex, lane_matches
from ._model import CANARY, STABLE, LanesSpec, Port, Service
from ._workloads import metadata

__all__ = [
    "API_VERSION",
    "destination_rule",
    "host_name",
    "http_routes",
    "port_routes",
    "table_route_names",
    "virtual_services",
]

API_VERSION = "networking.istio.io/v1"
Manifest = dict[str, Any]


def host_name(spec: LanesSpec, service: Service) -> str:
    """Return the fully qualified host of *service* (short names depend on the namespace)."""
    return f"{service.name}.{spec.namespace}.svc.cluster.local"


def destination_rule(spec: LanesSpec, service: Service) -> Manifest:
    """Return the DestinationRule with subset ``stable``, ``canary`` and one per lane."""
    versions = [STABLE]
    if service.canary is not None:
        versions.append(CANARY)
    versions += [lane.name for lane in spec.lanes_of(service.name)]
    return {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": metadata("DestinationRule", service.name, spec, service.name),
        "spec": {
            "host": host_name(spec, service),
            "subsets": [{"name": name, "labels": {"version": name}} for name in versions],
        },
    }


def _destination(spec: LanesSpec, service: Service, subset: str, port: Port) -> dict[str, Any]:
    host = host_name(spec, service)
    return {"destination": {"host": host, "subset": subset, "port": {"number": port.number}}}


def _default_route(spec: LanesSpec, service: Service, port: Port) -> list[dict[str, Any]]:
    """Stable, or the stable/canary weighted split."""
    if service.canary is None:
        return [_destination(spec, service, STABLE, port)]
    weight = service.canary.weight
    return [
        {**_destination(spec, service, STABLE, port), "weight": 100 - weight},
        {**_destination(spec, service, CANARY, port), "weight": weight},
    ]


def _string_match(match: HeaderMatch) -> dict[str, str]:
    return {match.kind: match.value}


def _fast_path(spec: LanesSpec) -> list[dict[str, Any]]:
    """Matches for requests that carry no lane at all (absent headers, lane-free baggage)."""
    headers = spec.headers
    absent: dict[str, dict[str, str]] = {headers.lane: {}, headers.pr: {}}
    return [
        {"withoutHeaders": {**absent, "baggage": {}}},
        {"withoutHeaders": {**absent, "baggage": {"regex": any_member_regex(headers.baggage_key)}}},
    ]


def _suffix(service: Service, port: Port | None) -> str:
    return f"-{port.number}" if port is not None and len(service.ports) > 1 else ""


def table_route_names(
    spec: LanesSpec, service: Service, port: Port | None = None
) -> tuple[str, str, str]:
    """Return the names of *service*'s lane-table routes (on *port* of a multi-port mesh
    service): requests with the lane header, with the PR header, and the others (baggage).

    Lane-table patches select routes by name, and one route configuration holds the
    routes of every namespace's services on a port: the names carry the namespace.
    """
    base = f"{service.name}.{spec.namespace}-lanes"
    end = _suffix(service, port)
    return f"{base}{end}", f"{base}-pr{end}", f"{base}-baggage{end}"


def http_routes(spec: LanesSpec, service: Service) -> list[dict[str, Any]]:
    """Return the ordered ``http`` routes of *service*'s mesh VirtualService, every port."""
    if len(service.ports) == 1:
        return port_routes(spec, service, service.ports[0], None)
    return [route for port in service.ports for route in port_routes(spec, service, port, port)]


def _limited(routes: list[dict[str, Any]], port: Port) -> list[dict[str, Any]]:
    """Return *routes* with every match (or the match-all) limited to *port*."""
    for route in routes:
        matches = route.get("match") or [{}]
        route["match"] = [{**match, "port": port.number} for match in matches]
    return routes


def port_routes(
    spec: LanesSpec, service: Service, port: Port, only: Port | None
) -> list[dict[str, Any]]:
    """Return the ordered ``http`` routes to *service*'s *port* (limited to *only*).

    Requests that reach the routes after the fast path carry a lane: they go to the
    lane's version or to stable, never to the canary (a canary takes unlaned traffic).
    With ``laneRouting: table`` the lane routes are the three of `table_route_names`,
    whose destinations the EnvoyFilter of `lanectx.routing._lane_table` replaces with
    lane table lookups; on their own they send everything to stable.
    """
    end = _suffix(service, only)
    default = _default_route(spec, service, port)
    lanes = spec.lanes_of(service.name)
    if not lanes:
        plain = [{"name": STABLE + end, "route": default}]
        return _limited(plain, only) if only else plain
    routes: list[dict[str, Any]] = [
        {"name": "stable-fast-path" + end, "match": _fast_path(spec), "route": default}
    ]
    stable = [_destination(spec, service, STABLE, port)]
    if spec.lane_routing == "table":
        lane_route, pr_route, baggage_route = table_route_names(spec, service, only)
        lane_header: list[dict[str, Any]] = [{"headers": {spec.headers.lane: {}}}]
        pr_header: list[dict[str, Any]] = [{"headers": {spec.headers.pr: {}}}]
        routes += [
            {"name": lane_route, "match": lane_header, "route": stable},
            {"name": pr_route, "match": pr_header, "route": stable},
            {"name": baggage_route, "route": stable},
        ]
        return _limited(routes, only) if only else routes
    by_lane = {lane.name: lane_matches(lane.name, spec.headers) for lane in lanes}
    for source in SOURCES:
        for lane, sources in by_lane.items():
            if source in sources:
                routes.append(
                    {
                        "name": f"{lane}-{source}{end}",
                        "match": [
                            {"headers": {match.header: _string_match(match)}}
                            for match in sources[source]
                        ],
                        "route": [_destination(spec, service, lane, port)],
                    }
                )
    routes.append({"name": STABLE + end, "route": stable})
    return _limited(routes, only) if only else routes


def virtual_services(spec: LanesSpec, service: Service) -> list[Manifest]:
    """Return the mesh VirtualService of *service*, and its ingress one if it has ingress."""
    routes = http_routes(spec, service)
    result = [
        {
            "apiVersion": API_VERSION,
            "kind": "VirtualService",
            "metadata": metadata("VirtualService", service.name, spec, service.name),
            "spec": {"hosts": [host_name(spec, service)], "http": routes},
        }
    ]
    if service.ingress is not None:
        result.append(
            {
                "apiVersion": API_VERSION,
                "kind": "VirtualService",
                "metadata": metadata(
                    "VirtualService", f"{service.name}-ingress", spec, service.name
                ),
                "spec": {
                    "hosts": list(service.ingress.hosts),
                    "gateways": [service.ingress.gateway],
                    "http": port_routes(spec, service, service.ports[0], None),
                },
            }
        )
    return result
