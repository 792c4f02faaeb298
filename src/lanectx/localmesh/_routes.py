"""Translate Istio HTTP routes (the subset lanectx renders) into Envoy v3 routes.

Modelled on istiod's ``BuildHTTPRoutesForVirtualService``, ``TranslateRoute`` and
``TranslateRouteMatch`` (pilot/pkg/networking/core/route/route.go): one Envoy route
per match, named after the Istio route (``<name>.<match name>`` when the match is
named); a match on another ``port`` than the listener's is dropped; a route without
conditions ends the list; header conditions sorted by name; ``{}`` tests presence
(absence under ``withoutHeaders``), and any other inverted match also matches a
missing header (``treat_missing_header_as_empty``). Destinations take a ``subset``,
optional ``port`` and ``weight``. Anything else raises `UnsupportedRouteError`::

    envoy_routes(virtual_service["spec"]["http"], cluster_for, "VirtualService/reviews", 9080)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lanectx.routing._errors import UnsupportedRouteError

__all__ = ["envoy_routes", "refuse_unknown"]

ClusterFor = Callable[[str, str, int | None], str]


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
        return {"name": name, "present_match": True, **({"invert_match": True} if invert else {})}
    if len(match) != 1:
        raise UnsupportedRouteError(f"{where}: header {name!r} has more than one match type")
    ((kind, value),) = match.items()
    if not isinstance(value, str):
        raise UnsupportedRouteError(f"{where}: header {name!r} {kind} must be a string")
    string_match = {"safe_regex": {"regex": value}} if kind == "regex" else {kind: value}
    matcher: dict[str, Any] = {"name": name, "string_match": string_match}
    if invert:
        matcher["invert_match"] = True
        matcher["treat_missing_header_as_empty"] = True
    return matcher


def _route_match(match: object, where: str, listener_port: int) -> dict[str, Any] | None:
    """Return the Envoy RouteMatch of one Istio HTTPMatchRequest (None: other port)."""
    if not isinstance(match, Mapping):
        raise UnsupportedRouteError(f"{where}: a match must be a mapping")
    refuse_unknown(match, ("headers", "name", "port", "withoutHeaders"), where)
    port = match.get("port")
    if port is not None and not isinstance(port, int):
        raise UnsupportedRouteError(f"{where}: port must be a number")
    if port is not None and port != listener_port:
        return None
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
        route_match["headers"] = sorted(headers, key=lambda header: str(header["name"]))
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
        refuse_unknown(destination, ("host", "port", "subset"), f"{at}.destination")
        host, subset = destination.get("host"), destination.get("subset")
        if not isinstance(host, str) or not isinstance(subset, str):
            raise UnsupportedRouteError(f"{at}: a destination needs a host and a subset")
        port = destination.get("port")
        if port is not None:
            if not isinstance(port, Mapping) or not isinstance(port.get("number"), int):
                raise UnsupportedRouteError(f"{at}: destination port needs a number")
            refuse_unknown(port, ("number",), f"{at}.destination.port")
            port = port["number"]
        name = cluster_for(host, subset, port)
        clusters.append({"name": name, "weight": item.get("weight")})
    if len(clusters) == 1:
        return {"cluster": clusters[0]["name"]}
    if any(not isinstance(c["weight"], int) or c["weight"] < 0 for c in clusters):
        raise UnsupportedRouteError(f"{where}: split destinations need integer weights")
    return {"weighted_clusters": {"clusters": clusters}}


def envoy_routes(
    http: object, cluster_for: ClusterFor, where: str, listener_port: int
) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(label, Envoy route)`` for an Istio ``http`` list on *listener_port*.

    The label ``<route name>#<match index>`` tells the matches of one route apart.
    """
    if not isinstance(http, list):
        raise UnsupportedRouteError(f"{where}: spec.http must be a list")
    routes: list[tuple[str, dict[str, Any]]] = []
    for index, rule in enumerate(http):
        at = f"{where} http[{index}]"
        if not isinstance(rule, Mapping):
            raise UnsupportedRouteError(f"{at}: a route must be a mapping")
        refuse_unknown(rule, ("match", "name", "route"), at)
        matches = rule.get("match") or [{}]
        if not isinstance(matches, list):
            raise UnsupportedRouteError(f"{at}: match must be a list")
        name = str(rule.get("name", ""))
        kept = []
        for number, match in enumerate(matches):
            route_match = _route_match(match, f"{at}.match[{number}]", listener_port)
            if route_match is not None:
                kept.append((number, match, route_match))
        if not kept:
            continue
        action = _action(rule.get("route"), cluster_for, at)
        for number, match, route_match in kept:
            match_name = match.get("name") if isinstance(match, Mapping) else None
            full = f"{name}.{match_name}" if match_name else name
            routes.append(
                (f"{name or index}#{number}", {"name": full, "match": route_match, "route": action})
            )
            if "headers" not in route_match:  # catch-all: later routes are never reached
                return routes
    return routes
