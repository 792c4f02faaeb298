"""Build the static Envoy bootstrap: one listener per proxy and port, clusters by Istio name.

A sidecar gets, like istiod's ``BuildSidecarOutboundVirtualHosts``
(pilot/pkg/networking/core/httproute.go), a route configuration named after each
HTTP service port, with a virtual host ``<host>:<port>`` per mesh VirtualService host
on that port; its domains follow ``generateAltVirtualHostsForKubernetesService`` (the
short name only from the service's namespace). A gateway gets ``http.<port>`` per
server port with ``<host>:<port>`` virtual hosts of the gateway-bound VirtualServices
(domain: the host; the Host header's port is ignored there).
Clusters are named by ``model.BuildSubsetKey`` and their port chosen as
``route.GetDestinationCluster`` does: the destination's port, else the service's only
port, else the listener's port. A route to a cluster that does not exist answers 503,
as in Istio (``validate_clusters: false``)::

    envoy_config(objects, endpoints, proxies=[Proxy("sidecar", "ci")])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lanectx.routing._errors import UnsupportedRouteError

from ._patches import EnvoyFilter, apply_patches, clusters_named, envoy_filter, patches_for
from ._proxy import GATEWAY, ROOT_NAMESPACE, SIDECAR, Proxy
from ._registry import Registry
from ._resources import cluster, listener, socket
from ._routes import envoy_routes, refuse_unknown

__all__ = ["ROUTE_HEADER", "envoy_config"]

ROUTE_HEADER = "x-lanectx-route"
Endpoint = tuple[str, int]
Endpoints = Mapping[tuple[Any, ...], Endpoint]
_IGNORED_KINDS = ("ConfigMap", "Deployment", "Gateway", "Namespace", "ServiceAccount")


class _Builder:
    """Virtual hosts of each proxy view, and the clusters their routes use."""

    def __init__(self, objects: Sequence[Mapping[str, Any]], endpoints: Endpoints, root: str):
        self.registry = Registry(objects)
        self.endpoints = endpoints
        self.root = root
        self.used: dict[str, tuple[Endpoint, bool]] = {}
        self.filters: list[EnvoyFilter] = []
        self.virtual_services: list[tuple[str, str, Mapping[str, Any]]] = []
        for obj in objects:
            kind, meta = obj.get("kind"), obj.get("metadata") or {}
            where = f"{kind}/{meta.get('name')}"
            if kind == "EnvoyFilter":
                self.filters.append(envoy_filter(obj))
            elif kind == "VirtualService":
                spec = obj.get("spec") or {}
                refuse_unknown(spec, ("gateways", "hosts", "http"), where)
                self.virtual_services.append((where, str(meta.get("namespace", "default")), spec))
            elif kind not in (*_IGNORED_KINDS, "Service", "DestinationRule"):
                raise UnsupportedRouteError(
                    f"{where}: kind {kind!r} is not supported by the local Envoy translation"
                )

    def _endpoint(self, service: str, namespace: str, subset: str, port: int) -> Endpoint | None:
        for key in (
            (f"{service}.{namespace}", subset, port),
            (f"{service}.{namespace}", subset),
            (service, subset, port),
            (service, subset),
        ):
            if key in self.endpoints:
                return self.endpoints[key]
        return None

    def cluster_for(self, namespace: str, listener_port: int, where: str) -> Callable[..., str]:
        """Return the cluster namer of routes written in *namespace*, on *listener_port*."""

        def name(host: str, subset: str, port: int | None) -> str:
            fqdn = self.registry.fqdn(host, namespace)
            service = self.registry.services.get(fqdn)
            if port is None:
                single = service is not None and len(service.ports) == 1
                port = next(iter(service.ports)) if service and single else listener_port
            if subset not in self.registry.subsets.get(fqdn, set()):
                raise UnsupportedRouteError(
                    f"{where}: subset {subset!r} of {host!r} is not declared in a DestinationRule"
                )
            cluster = f"outbound|{port}|{subset}|{fqdn}"
            self.use(cluster, where)
            return cluster

        return name

    def use(self, cluster: str, where: str) -> None:
        """Keep *cluster* if it exists in the mesh (a service port and subset)."""
        _, port, subset, fqdn = cluster.split("|")
        service = self.registry.services.get(fqdn)
        if service is None or int(port) not in service.ports:
            return  # istiod builds no such cluster: requests to it get 503
        if subset not in self.registry.subsets.get(fqdn, set()):
            return
        endpoint = self._endpoint(service.name, service.namespace, subset, int(port))
        if endpoint is None:
            raise UnsupportedRouteError(
                f"{where}: no endpoint for {service.name}/{subset}: add "
                f"{service.name}/{subset}=HOST:PORT"
            )
        self.used[cluster] = (endpoint, service.is_http2(int(port)))

    def virtual_hosts(
        self, proxy: Proxy, port: int, route_header: str | None, first_port_only: bool = False
    ) -> list[dict[str, Any]]:
        """Return the virtual hosts of *proxy*'s route configuration on *port*."""
        patches = patches_for(proxy, self.filters, self.root)
        context = "GATEWAY" if proxy.kind == GATEWAY else "SIDECAR_OUTBOUND"
        result = []
        for where, namespace, spec in self.virtual_services:
            if bool(spec.get("gateways")) != (proxy.kind == GATEWAY):
                continue
            for host in [str(h) for h in spec.get("hosts") or []]:
                if proxy.kind == GATEWAY:
                    vhost = {"name": f"{host}:{port}", "domains": [host]}
                else:
                    fqdn = self.registry.fqdn(host, namespace)
                    service = self.registry.services.get(fqdn)
                    if service is None or not service.is_http(port):
                        continue  # no HTTP port here: the VirtualService's http routes do not apply
                    if first_port_only and port != min(
                        p for p in service.ports if service.is_http(p)
                    ):
                        continue
                    vhost = {
                        "name": f"{fqdn}:{port}",
                        "domains": self.registry.sidecar_domains(fqdn, port, proxy.namespace),
                    }
                labelled = envoy_routes(
                    spec.get("http"), self.cluster_for(namespace, port, where), where, port
                )
                routes = [route for _, route in labelled]
                apply_patches(routes, patches, context=context, port=port, vhost=vhost)
                for label, route in labelled:
                    for name in clusters_named(route.get("route") or {}):
                        self.use(name, where)
                    if route_header:
                        route["response_headers_to_add"] = [
                            {"header": {"key": route_header, "value": label}}
                        ]
                result.append({**vhost, "routes": routes, "where": where})
        return result


def envoy_config(
    objects: Sequence[Mapping[str, Any]],
    endpoints: Endpoints,
    *,
    proxies: Sequence[Proxy] | None = None,
    root_namespace: str = ROOT_NAMESPACE,
    listen: Endpoint = ("127.0.0.1", 0),
    admin: Endpoint = ("127.0.0.1", 0),
    http_filters: Sequence[Mapping[str, Any]] = (),
    route_header: str | None = ROUTE_HEADER,
) -> dict[str, Any]:
    """Return an Envoy bootstrap routing like istiod would for *proxies*.

    *endpoints* maps ``(service, subset)`` (or ``(service.namespace, subset)``, either
    with a port as third item) to ``(host, port)``. Each proxy gets a listener per port,
    named by `Proxy.listener_name`. Without *proxies*, one listener ``lanectx`` is a
    sidecar in the namespace of the VirtualServices on each service's first port, and a
    gateway there on port 80 (Host ports ignored): a quick local mesh, not one proxy.
    *http_filters* run before the router; with *route_header*, responses name the
    route that matched.
    """
    builder = _Builder(objects, endpoints, root_namespace)
    listeners = []
    if proxies is None:
        namespace = next((ns for _, ns, _ in builder.virtual_services), "default")
        sidecar, gateway = Proxy(SIDECAR, namespace), Proxy(GATEWAY, namespace)
        hosts = [
            vhost
            for port in builder.registry.ports()
            for vhost in builder.virtual_hosts(sidecar, port, route_header, first_port_only=True)
        ]
        hosts += builder.virtual_hosts(gateway, 80, route_header)
        listeners.append(listener("lanectx", listen, "lanectx", hosts, http_filters, True))
    else:
        views = [
            (proxy, port) for proxy in proxies for port in (proxy.ports or builder.registry.ports())
        ]
        for proxy, port in views:
            address = listen if len(views) == 1 else (listen[0], 0)
            route_name = f"http.{port}" if proxy.kind == GATEWAY else str(port)
            hosts = builder.virtual_hosts(proxy, port, route_header)
            listeners.append(
                listener(
                    proxy.listener_name(port),
                    address,
                    route_name,
                    hosts,
                    http_filters,
                    strip_port=proxy.kind == GATEWAY,
                )
            )
    clusters = [
        cluster(name, endpoint, http2) for name, (endpoint, http2) in sorted(builder.used.items())
    ]
    return {
        "admin": {"address": socket(*admin)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }
