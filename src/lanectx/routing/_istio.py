"""Istio routing objects: a DestinationRule and VirtualService(s) per service.

Route order in each VirtualService: the stable fast path (no lane header, no PR header,
no baggage ``lane`` member: straight to stable without testing any lane), then the
lane routes grouped by source in precedence order (every lane's header match, then
PR header, then baggage), then stable, for lanes without a version of the service::

    destination_rule(spec, spec.service("reviews"))
    virtual_services(spec, spec.service("reviews"))
"""

from __future__ import annotations

from typing import Any

from ._match import SOURCES, HeaderMatch, any_member_regex, lane_matches
from ._model import CANARY, STABLE, LanesSpec, Service
from ._workloads import metadata

__all__ = [
    "API_VERSION",
    "destination_rule",
    "host_name",
    "http_routes",
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


def _destination(spec: LanesSpec, service: Service, subset: str) -> dict[str, Any]:
    return {"destination": {"host": host_name(spec, service), "subset": subset}}


def _default_route(spec: LanesSpec, service: Service) -> list[dict[str, Any]]:
    """Stable, or the stable/canary weighted split."""
    if service.canary is None:
        return [_destination(spec, service, STABLE)]
    weight = service.canary.weight
    return [
        {**_destination(spec, service, STABLE), "weight": 100 - weight},
        {**_destination(spec, service, CANARY), "weight": weight},
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


def table_route_names(service: Service) -> tuple[str, str, str]:
    """Return the names of *service*'s lane-table routes (unique across route tables):
    requests with the lane header, with the PR header, and the others (baggage)."""
    return f"{service.name}-lanes", f"{service.name}-lanes-pr", f"{service.name}-lanes-baggage"


def http_routes(spec: LanesSpec, service: Service) -> list[dict[str, Any]]:
    """Return the ordered ``http`` routes of *service*'s VirtualService.

    Requests that reach the routes after the fast path carry a lane: they go to the
    lane's version or to stable, never to the canary (a canary takes unlaned traffic).
    With ``laneRouting: table`` the lane routes are three, ``<service>-lanes``
    (requests with the lane header), ``<service>-lanes-pr`` (with the PR header) and
    ``<service>-lanes-baggage``, whose destinations the EnvoyFilter of
    `lanectx.routing._lane_table` replaces with lane table lookups; on their own they
    send everything to stable.
    """
    default = _default_route(spec, service)
    lanes = spec.lanes_of(service.name)
    if not lanes:
        return [{"name": STABLE, "route": default}]
    routes: list[dict[str, Any]] = [
        {"name": "stable-fast-path", "match": _fast_path(spec), "route": default}
    ]
    stable = [_destination(spec, service, STABLE)]
    if spec.lane_routing == "table":
        lane_route, pr_route, baggage_route = table_route_names(service)
        lane_header: list[dict[str, Any]] = [{"headers": {spec.headers.lane: {}}}]
        pr_header: list[dict[str, Any]] = [{"headers": {spec.headers.pr: {}}}]
        return [
            *routes,
            {"name": lane_route, "match": lane_header, "route": stable},
            {"name": pr_route, "match": pr_header, "route": stable},
            {"name": baggage_route, "route": stable},
        ]
    by_lane = {lane.name: lane_matches(lane.name, spec.headers) for lane in lanes}
    for source in SOURCES:
        for lane, sources in by_lane.items():
            if source in sources:
                routes.append(
                    {
                        "name": f"{lane}-{source}",
                        "match": [
                            {"headers": {match.header: _string_match(match)}}
                            for match in sources[source]
                        ],
                        "route": [_destination(spec, service, lane)],
                    }
                )
    routes.append({"name": STABLE, "route": stable})
    return routes


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
                    "http": routes,
                },
            }
        )
    return result
