"""The EnvoyFilter subset lanectx renders (``laneRouting: table``), for the local Envoy.

Supported: ``HTTP_ROUTE`` patches with ``MERGE`` whose value sets the route's action
(the lane table's cluster specifier), matched as istiod's envoyfilter/rc_patch.go
does (``routeConfigurationMatch``, ``virtualHostMatch``, ``routeMatch``): context,
``portNumber`` (a sidecar's route configuration is named after the port, a gateway's
is ``http.<port>``), virtual host ``name`` / ``domainName`` and route ``name``.
Which filters reach a proxy follows ``PushContext.EnvoyFilters``
(pilot/pkg/model/push_context.go): those of the root namespace and of the proxy's own
namespace, whose ``workloadSelector`` labels the proxy has. Anything else raises
`UnsupportedRouteError`::

    filters = [envoy_filter(obj) for obj in objects if obj["kind"] == "EnvoyFilter"]
    patches = patches_for(proxy, filters, root_namespace="istio-system")
    apply_patches(routes, patches, context="SIDECAR_OUTBOUND", port=9080, vhost=vhost)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lanectx.routing._errors import UnsupportedRouteError

from ._proxy import Proxy
from ._routes import refuse_unknown

__all__ = [
    "EnvoyFilter",
    "RoutePatch",
    "apply_patches",
    "clusters_named",
    "envoy_filter",
    "patches_for",
    "route_patches",
]

_CONTEXTS = ("ANY", "GATEWAY", "SIDECAR_OUTBOUND")
_CLUSTER_ACTIONS = ("cluster", "cluster_header", "weighted_clusters")
_ISTIO_CLUSTER = re.compile(r"outbound\|\d+\|[a-z0-9.-]*\|[a-z0-9.-]+")


@dataclass(frozen=True)
class RoutePatch:
    """One MERGE onto the routes called *route* (in *context*, on *port* / vhost if given)."""

    context: str
    port: int | None
    route: str
    action: Mapping[str, Any]
    vhost_name: str = ""
    vhost_domain: str = ""


@dataclass(frozen=True)
class EnvoyFilter:
    """An EnvoyFilter's scope (namespace, workload selector labels) and its route patches."""

    namespace: str
    selector: Mapping[str, str]
    patches: tuple[RoutePatch, ...]


def _mapping(value: object, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnsupportedRouteError(f"{where}: expected a mapping")
    refuse_unknown(value, allowed, where)
    return value


def route_patches(obj: Mapping[str, Any], where: str) -> list[RoutePatch]:
    """Return the route patches of an EnvoyFilter object."""
    spec = _mapping(obj.get("spec") or {}, f"{where} spec", ("configPatches", "workloadSelector"))
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
        vhost = _mapping(
            config.get("vhost"),
            f"{at}.match.routeConfiguration.vhost",
            ("domainName", "name", "route"),
        )
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
                str(vhost.get("name") or ""),
                str(vhost.get("domainName") or ""),
            )
        )
    return patches


def envoy_filter(obj: Mapping[str, Any]) -> EnvoyFilter:
    """Return the scope and route patches of an EnvoyFilter object."""
    meta = obj.get("metadata") or {}
    where = f"EnvoyFilter/{meta.get('name')}"
    selector = (obj.get("spec") or {}).get("workloadSelector") or {}
    labels = _mapping(selector, f"{where} workloadSelector", ("labels",)).get("labels") or {}
    if not isinstance(labels, Mapping):
        raise UnsupportedRouteError(f"{where} workloadSelector: labels must be a mapping")
    return EnvoyFilter(
        str(meta.get("namespace", "default")),
        {str(k): str(v) for k, v in labels.items()},
        tuple(route_patches(obj, where)),
    )


def patches_for(
    proxy: Proxy, filters: Sequence[EnvoyFilter], root_namespace: str
) -> list[RoutePatch]:
    """Return the patches that reach *proxy*: root-namespace filters, then its namespace's."""
    reaching = [f for f in filters if f.namespace == root_namespace]
    if proxy.namespace != root_namespace:
        reaching += [f for f in filters if f.namespace == proxy.namespace]
    return [
        patch
        for f in reaching
        if all(proxy.labels.get(key) == value for key, value in f.selector.items())
        for patch in f.patches
    ]


def apply_patches(
    routes: Sequence[dict[str, Any]],
    patches: Sequence[RoutePatch],
    *,
    context: str,
    port: int,
    vhost: Mapping[str, Any],
) -> None:
    """Merge every patch that applies into *routes* of *vhost* on the listener *port*."""
    for patch in patches:
        if patch.context not in ("ANY", context):
            continue
        if patch.port is not None and patch.port != port:
            continue
        if patch.vhost_name and patch.vhost_name != vhost["name"]:
            continue
        if patch.vhost_domain and patch.vhost_domain not in vhost["domains"]:
            continue
        for route in routes:
            if route["name"] == patch.route:
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
