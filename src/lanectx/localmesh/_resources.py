"""Envoy v3 resources of the local mesh: sockets, one-endpoint clusters, HTTP listeners.

cluster("outbound|9080|stable|reviews.shop.svc.cluster.local", ("127.0.0.1", 9081), False)
listener("sidecar.ci:9080", ("127.0.0.1", 0), "9080", virtual_hosts, [], strip_port=False)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from lanectx.routing._errors import UnsupportedRouteError

__all__ = ["cluster", "listener", "socket"]

Endpoint = tuple[str, int]
_TYPE = "type.googleapis.com/envoy.extensions"


def socket(host: str, port: int) -> dict[str, Any]:
    """Return an Envoy socket address."""
    return {"socket_address": {"address": host, "port_value": port}}


def cluster(name: str, endpoint: Endpoint, http2: bool) -> dict[str, Any]:
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
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(*endpoint)}}]}],
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


def listener(
    name: str,
    address: Endpoint,
    route_name: str,
    virtual_hosts: list[dict[str, Any]],
    http_filters: Sequence[Mapping[str, Any]],
    strip_port: bool,
) -> dict[str, Any]:
    """Return an HTTP listener whose route configuration *route_name* holds *virtual_hosts*.

    Each virtual host's ``where`` (the object it came from) is removed; a domain that two
    virtual hosts claim raises `UnsupportedRouteError`.
    """
    seen: dict[str, str] = {}
    for vhost in virtual_hosts:
        where = vhost.pop("where")
        for domain in vhost["domains"]:
            if domain in seen:
                raise UnsupportedRouteError(
                    f"{where}: host {domain!r} is already routed by {seen[domain]}"
                )
            seen[domain] = where
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": f"{_TYPE}.filters.http.router.v3.Router"},
    }
    manager: dict[str, Any] = {
        "@type": f"{_TYPE}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name.replace(":", "_"),
        "codec_type": "AUTO",
        "route_config": {
            "name": route_name,
            "virtual_hosts": virtual_hosts,
            "validate_clusters": False,
        },
        "http_filters": [*http_filters, router],
    }
    if strip_port:
        manager["strip_any_host_port"] = True
    filters = [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]
    return {"name": name, "address": socket(*address), "filter_chains": [{"filters": filters}]}
