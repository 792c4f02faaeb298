"""Translate Istio HTTP routes (the subset lanectx renders) into Envoy v3 routes.

Supported: header ``exact`` / ``prefix`` / ``regex`` matches and presence (``{}``),
``withoutHeaders`` (inverted matches; ``{}`` means absent), destinations with a
``subset`` and optional ``weight``. Anything else raises `UnsupportedRouteError`::

    envoy_routes(virtual_service["spec"]["http"], cluster_for, where="VirtualService/reviews")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._errors import UnsupportedRouteError

__all__ = ["envoy_routes", "refuse_unknown"]

ClusterFor = Callable[[str, str], str]


def refuse_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Raise `UnsupportedRouteError` when *data* has a key outside *allowed*."""
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise UnsupportedRouteError(
            f"{where}: field {extra[0]!r} is not supported by the local Envoy translation"
        )


def _header_matcher(name: str, match: object, where: str, *, invert: bool) -> dict[str, Any]:
    """Return an Envoy HeaderMatcher for one Istio StringMatch."""
    if not isinstance(match, Mapping):
        raise UnsupportedRouteError(f"{where}: header {name!r} needs a StringMatch mapping")
    refuse_unknown(match, ("exact", "prefix", "regex"), f"{where}.{name}")
    if not match:
        # Istio: a name with an empty match tests presence; withoutHeaders tests absence.
        return {"name": name, "present_match": not invert}
    if len(match) != 1:
        raise UnsupportedRouteError(f"{where}: header {name!r} has more than one match type")
    ((kind, value),) = match.items()
    if not isinstance(value, str):
        raise UnsupportedRouteError(f"{where}: header {name!r} {kind} must be a string")
    string_match = {"safe_regex": {"regex": value}} if kind == "regex" else {kind: value}
    matcher: dict[str, Any] = {"name": name, "string_match": string_match}
    if invert:
        matcher["invert_match"] = True
    return matcher


def _route_match(match: object, where: str) -> dict[str, Any]:
    """Return the Envoy RouteMatch of one Istio HTTPMatchRequest."""
    if not isinstance(match, Mapping):
        raise UnsupportedRouteError(f"{where}: a match must be a mapping")
    refuse_unknown(match, ("headers", "name", "withoutHeaders"), where)
    headers = [
        _header_matcher(name, value, f"{where}.headers", invert=False)
        for name, value in (match.get("headers") or {}).items()
    ]
    headers += [
        _header_matcher(name, value, f"{where}.withoutHeaders", invert=True)
        for name, value in (match.get("withoutHeaders") or {}).items()
    ]
    route_match: dict[str, Any] = {"prefix": "/"}
    if headers:
        route_match["headers"] = headers
    return route_match


def _action(destinations: object, cluster_for: ClusterFor, where: str) -> dict[str, Any]:
    """Return the Envoy RouteAction: one cluster, or weighted clusters."""
    if not isinstance(destinations, list) or not destinations:
        raise UnsupportedRouteError(f"{where}: a route needs at least one destination")
    clusters: list[dict[str, Any]] = []
    for index, item in enumerate(destinations):
        at = f"{where}.route[{index}]"
        if not isinstance(item, Mapping):
            raise UnsupportedRouteError(f"{at}: a destination must be a mapping")
        refuse_unknown(item, ("destination", "weight"), at)
        destination = item.get("destination")
        if not isinstance(destination, Mapping):
            raise UnsupportedRouteError(f"{at}: missing destination")
        refuse_unknown(destination, ("host", "subset"), f"{at}.destination")
        host, subset = destination.get("host"), destination.get("subset")
        if not isinstance(host, str) or not isinstance(subset, str):
            raise UnsupportedRouteError(f"{at}: a destination needs a host and a subset")
        clusters.append({"name": cluster_for(host, subset), "weight": item.get("weight")})
    if len(clusters) == 1:
        return {"cluster": clusters[0]["name"]}
    if any(not isinstance(c["weight"], int) or c["weight"] < 0 for c in clusters):
        raise UnsupportedRouteError(f"{where}: split destinations need integer weights")
    return {"weighted_clusters": {"clusters": clusters}}


def envoy_routes(http: object, cluster_for: ClusterFor, where: str) -> list[dict[str, Any]]:
    """Return the Envoy routes for an Istio ``http`` list, one per (route, match), in order."""
    if not isinstance(http, list):
        raise UnsupportedRouteError(f"{where}: spec.http must be a list")
    routes: list[dict[str, Any]] = []
    for index, rule in enumerate(http):
        at = f"{where} http[{index}]"
        if not isinstance(rule, Mapping):
            raise UnsupportedRouteError(f"{at}: a route must be a mapping")
        refuse_unknown(rule, ("match", "name", "route"), at)
        action = _action(rule.get("route"), cluster_for, at)
        matches = rule.get("match") or [{}]
        if not isinstance(matches, list):
            raise UnsupportedRouteError(f"{at}: match must be a list")
        name = str(rule.get("name", index))
        for number, match in enumerate(matches):
            routes.append(
                {
                    "name": f"{name}#{number}",
                    "match": _route_match(match, f"{at}.match[{number}]"),
                    "route": action,
                }
            )
    return routes
