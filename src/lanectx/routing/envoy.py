"""Translate rendered Istio routing objects into a static Envoy v3 bootstrap.

One listener; one virtual host per VirtualService (domains: the service's short and
qualified names, or the external hosts of a gateway-bound one); one cluster per
``(service, subset)`` with its endpoint from *endpoints*, named like Istio's
(``outbound|<port>|<subset>|<host>``) so the lane tables of ``laneRouting: table``
(EnvoyFilter route patches) run unchanged. Only what lanectx renders is supported;
anything else raises `UnsupportedRouteError` (one line)::

    from lanectx.routing import load_spec, render
    from lanectx.routing.envoy import envoy_config, EnvoyProcess

    config = envoy_config(render(load_spec("lanes.yaml")),
                          {("reviews", "stable"): ("127.0.0.1", 9081), ...})
    with EnvoyProcess(config, workdir) as envoy:
        print(envoy.listener_port())
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._envoy_patches import RoutePatch, apply_patches, clusters_named, route_patches
from ._envoy_process import EnvoyProcess, find_envoy
from ._envoy_routes import envoy_routes, refuse_unknown
from ._errors import UnsupportedRouteError

__all__ = [
    "ROUTE_HEADER",
    "EnvoyProcess",
    "UnsupportedRouteError",
    "envoy_config",
    "find_envoy",
    "parse_endpoint",
]

ROUTE_HEADER = "x-lanectx-route"
Endpoint = tuple[str, int]
_IGNORED_KINDS = ("ConfigMap", "Deployment", "Gateway", "Namespace", "ServiceAccount")
_TYPE = "type.googleapis.com/envoy.extensions"


def parse_endpoint(text: str) -> tuple[tuple[str, str], Endpoint]:
    """Parse ``service/subset=host:port`` into ``((service, subset), (host, port))``."""
    key, sep, address = text.partition("=")
    service, slash, subset = key.partition("/")
    host, colon, port = address.rpartition(":")
    if not (sep and slash and colon and service and subset and host and port.isdigit()):
        raise UnsupportedRouteError(f"bad endpoint {text!r}: expected SERVICE/SUBSET=HOST:PORT")
    return (service, subset), (host, int(port))


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _cluster(name: str, endpoint: Endpoint, http2: bool) -> dict[str, Any]:
    """Return a cluster with one endpoint; gRPC services speak HTTP/2 upstream."""
    try:
        ipaddress.ip_address(endpoint[0])
        discovery = "STATIC"
    except ValueError:
        discovery = "STRICT_DNS"
    cluster: dict[str, Any] = {
        "name": name,
        "type": discovery,
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(*endpoint)}}]}],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{_TYPE}.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


class _Mesh:
    """What the manifests say about services: namespaces, HTTP/2 use and subsets."""

    def __init__(self, objects: Sequence[Mapping[str, Any]], endpoints: Iterable[tuple[str, str]]):
        self.namespaces: dict[str, str] = {}
        self.http2: set[str] = set()
        self.subsets: dict[str, set[str]] = {}
        self.ports: dict[str, int] = {}
        self.known = {service for service, _ in endpoints}
        for obj in objects:
            meta = obj.get("metadata") or {}
            name, namespace = str(meta.get("name")), str(meta.get("namespace", "default"))
            if obj.get("kind") == "Service":
                self.known.add(name)
                self.namespaces.setdefault(name, namespace)
                ports = (obj.get("spec") or {}).get("ports") or []
                if ports and isinstance(ports[0].get("port"), int):
                    self.ports.setdefault(name, ports[0]["port"])
                if any(
                    str(p.get("appProtocol", p.get("name", ""))).startswith(("grpc", "http2"))
                    for p in ports
                ):
                    self.http2.add(name)
            elif obj.get("kind") == "DestinationRule":
                spec = obj.get("spec") or {}
                refuse_unknown(spec, ("host", "subsets"), f"DestinationRule/{name}")
                service = self.service_of(
                    str(spec.get("host")), namespace, f"DestinationRule/{name}"
                )
                for subset in spec.get("subsets") or []:
                    refuse_unknown(subset, ("labels", "name"), f"DestinationRule/{name} subset")
                    self.subsets.setdefault(service, set()).add(str(subset.get("name")))

    def service_of(self, host: str, namespace: str, where: str) -> str:
        """Return the service a mesh host names (``reviews``, ``reviews.ns.svc...``)."""
        name, _, rest = host.partition(".")
        if rest and rest not in (namespace, f"{namespace}.svc", f"{namespace}.svc.cluster.local"):
            raise UnsupportedRouteError(
                f"{where}: host {host!r} is not a service of namespace {namespace!r}"
            )
        self.known.add(name)
        self.namespaces.setdefault(name, namespace)
        return name

    def domains(self, host: str, namespace: str) -> list[str]:
        """Return the Host values a client may use for *host*."""
        name, _, rest = host.partition(".")
        if name not in self.known or (rest and not rest.startswith(namespace)):
            return [host]
        qualified = f"{name}.{namespace}"
        return [name, qualified, f"{qualified}.svc", f"{qualified}.svc.cluster.local"]


def envoy_config(
    objects: Sequence[Mapping[str, Any]],
    endpoints: Mapping[tuple[str, str], Endpoint],
    *,
    listen: Endpoint = ("127.0.0.1", 0),
    admin: Endpoint = ("127.0.0.1", 0),
    http_filters: Sequence[Mapping[str, Any]] = (),
    route_header: str | None = ROUTE_HEADER,
) -> dict[str, Any]:
    """Return an Envoy bootstrap routing like the Istio objects among *objects*.

    *endpoints* maps ``(service, subset)`` to ``(host, port)``. *http_filters* run
    before the router. With *route_header*, responses name the route that matched.
    """
    mesh = _Mesh(objects, endpoints)
    used: dict[str, tuple[str, str]] = {}
    patches: list[RoutePatch] = [
        patch
        for obj in objects
        if obj.get("kind") == "EnvoyFilter"
        for patch in route_patches(obj, f"EnvoyFilter/{(obj.get('metadata') or {}).get('name')}")
    ]

    def cluster_for(host: str, subset: str, *, namespace: str, where: str) -> str:
        service = mesh.service_of(host, namespace, where)
        _check_subset(service, subset, where)
        port = mesh.ports.get(service, 80)
        name = f"outbound|{port}|{subset}|{service}.{namespace}.svc.cluster.local"
        used[name] = (service, subset)
        return name

    def _check_subset(service: str, subset: str, where: str) -> None:
        if subset not in mesh.subsets.get(service, set()):
            raise UnsupportedRouteError(
                f"{where}: subset {subset!r} of {service!r} is not declared in a DestinationRule"
            )
        if (service, subset) not in endpoints:
            raise UnsupportedRouteError(
                f"{where}: no endpoint for {service}/{subset}: add {service}/{subset}=HOST:PORT"
            )

    def patched_clusters(route: Mapping[str, Any], where: str) -> None:
        """Check and keep the clusters a patched route (a lane table) may pick."""
        for name in clusters_named(route.get("route") or {}):
            _, port, subset, host = name.split("|")
            service, _, namespace = host.removesuffix(".svc.cluster.local").partition(".")
            if host != f"{service}.{namespace}.svc.cluster.local" or int(port) != mesh.ports.get(
                service, 80
            ):
                raise UnsupportedRouteError(f"{where}: cluster {name!r} is not a mesh service port")
            cluster_for(service, subset, namespace=namespace, where=where)

    virtual_hosts: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for obj in objects:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        where = f"{kind}/{meta.get('name')}"
        if kind in _IGNORED_KINDS or kind in ("Service", "DestinationRule", "EnvoyFilter"):
            continue
        if kind != "VirtualService":
            raise UnsupportedRouteError(
                f"{where}: kind {kind!r} is not supported by the local Envoy translation"
            )
        spec = obj.get("spec") or {}
        refuse_unknown(spec, ("gateways", "hosts", "http"), where)
        namespace = str(meta.get("namespace", "default"))
        routes = envoy_routes(
            spec.get("http"),
            functools.partial(cluster_for, namespace=namespace, where=where),
            where,
        )
        hosts = [str(host) for host in spec.get("hosts") or []]
        gateway = bool(spec.get("gateways")) or not hosts
        if patches:
            service = "" if gateway else mesh.service_of(hosts[0], namespace, where)
            apply_patches(routes, patches, gateway=gateway, port=mesh.ports.get(service, 80))
        for route in routes:
            patched_clusters(route, where)
        if route_header:
            for route in routes:
                route["response_headers_to_add"] = [
                    {"header": {"key": route_header, "value": route["name"]}}
                ]
        domains = [
            d for host in spec.get("hosts") or [] for d in mesh.domains(str(host), namespace)
        ]
        for domain in domains:
            if domain in seen:
                raise UnsupportedRouteError(
                    f"{where}: host {domain!r} is already routed by {seen[domain]}"
                )
            seen[domain] = where
        virtual_hosts.append({"name": where, "domains": domains, "routes": routes})

    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": f"{_TYPE}.filters.http.router.v3.Router"},
    }
    manager = {
        "@type": f"{_TYPE}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "lanectx",
        "codec_type": "AUTO",
        "strip_any_host_port": True,
        "route_config": {"name": "lanectx", "virtual_hosts": virtual_hosts},
        "http_filters": [*http_filters, router],
    }
    listener = {
        "name": "lanectx",
        "address": _socket(*listen),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }
    clusters = [
        _cluster(name, endpoints[key], key[0] in mesh.http2) for name, key in sorted(used.items())
    ]
    return {
        "admin": {"address": _socket(*admin)},
        "static_resources": {"listeners": [listener], "clusters": clusters},
    }
