"""The EnvoyFilter subset lanectx renders (``laneRouting: table``), for the local Envoy.

Supported: ``HTTP_ROUTE`` patches with ``MERGE``, matched by route name (and port for
sidecars), whose value sets the route's action (the lane table's cluster specifier).
Anything else raises `UnsupportedRouteError`::

    patches = route_patches(envoy_filter_object, where="EnvoyFilter/reviews-lanes")
    apply_patches(routes, patches, gateway=False, port=9080)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._envoy_routes import refuse_unknown
from ._errors import UnsupportedRouteError

__all__ = ["RoutePatch", "apply_patches", "clusters_named", "route_patches"]

_CONTEXTS = ("ANY", "GATEWAY", "SIDECAR_OUTBOUND")
_CLUSTER_ACTIONS = ("cluster", "cluster_header", "weighted_clusters")
_ISTIO_CLUSTER = re.compile(r"outbound\|\d+\|[a-z0-9.-]*\|[a-z0-9.-]+")


@dataclass(frozen=True)
class RoutePatch:
    """One MERGE onto the routes called *route* (in *context*, on *port* when given)."""

    context: str
    port: int | None
    route: str
    action: Mapping[str, Any]


def _mapping(value: object, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnsupportedRouteError(f"{where}: expected a mapping")
    refuse_unknown(value, allowed, where)
    return value


def route_patches(obj: Mapping[str, Any], where: str) -> list[RoutePatch]:
    """Return the route patches of an EnvoyFilter object."""
    spec = _mapping(obj.get("spec") or {}, f"{where} spec", ("configPatches",))
    patches = []
    for index, raw in enumerate(spec.get("configPatches") or []):
        at = f"{where} configPatches[{index}]"
        patch = _mapping(raw, at, ("applyTo", "match", "patch"))
        if patch.get("applyTo") != "HTTP_ROUTE":
            raise UnsupportedRouteError(f"{at}: only applyTo HTTP_ROUTE is supported")
        match = _mapping(patch.get("match"), f"{at}.match", ("context", "routeConfiguration"))
        context = match.get("context", "ANY")
        if context not in _CONTEXTS:
            raise UnsupportedRouteError(f"{at}.match: context {context!r} is not supported")
        config = _mapping(
            match.get("routeConfiguration"),
            f"{at}.match.routeConfiguration",
            ("portNumber", "vhost"),
        )
        vhost = _mapping(config.get("vhost"), f"{at}.match.routeConfiguration.vhost", ("route",))
        route = _mapping(vhost.get("route"), f"{at}.match...vhost.route", ("name",))
        body = _mapping(patch.get("patch"), f"{at}.patch", ("operation", "value"))
        if body.get("operation") != "MERGE":
            raise UnsupportedRouteError(f"{at}.patch: only operation MERGE is supported")
        value = _mapping(body.get("value"), f"{at}.patch.value", ("route",))
        action = value.get("route")
        if not isinstance(action, Mapping) or not isinstance(route.get("name"), str):
            raise UnsupportedRouteError(f"{at}: a route name and a route action are required")
        port = config.get("portNumber")
        patches.append(
            RoutePatch(
                str(context),
                port if isinstance(port, int) else None,
                str(route["name"]),
                dict(action),
            )
        )
    return patches


def apply_patches(
    routes: Sequence[dict[str, Any]], patches: Sequence[RoutePatch], *, gateway: bool, port: int
) -> None:
    """Merge every patch that applies into *routes* (Envoy routes named ``<name>#<n>``)."""
    context = "GATEWAY" if gateway else "SIDECAR_OUTBOUND"
    for patch in patches:
        if patch.context not in ("ANY", context):
            continue
        if not gateway and patch.port is not None and patch.port != port:
            continue
        for route in routes:
            if str(route["name"]).rpartition("#")[0] == patch.route:
                action = {k: v for k, v in route["route"].items() if k not in _CLUSTER_ACTIONS}
                route["route"] = {**action, **patch.action}


def clusters_named(action: Mapping[str, Any]) -> set[str]:
    """Return the Istio cluster names a patched route action may pick."""
    names: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            names.update(_ISTIO_CLUSTER.findall(value))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(action)
    return names
