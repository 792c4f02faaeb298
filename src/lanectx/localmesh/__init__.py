"""A local model of istiod: rendered Istio objects in, a static Envoy bootstrap out.

This package imitates what istiod would send to each proxy; it ships nothing to a
cluster (`lanectx.routing` renders what does). Only the constructs lanectx renders are
modelled (docs/routing.md lists them beside the Istio code they follow); anything
else raises `UnsupportedRouteError` (one line)::

    from lanectx.routing import load_spec, render
    from lanectx.localmesh import EnvoyProcess, Proxy, envoy_config

    proxies = [Proxy("sidecar", "ci"), Proxy("gateway", "istio-system")]
    config = envoy_config(render(load_spec("lanes.yaml")),
                          {("reviews", "stable"): ("127.0.0.1", 9081), ...}, proxies=proxies)
    with EnvoyProcess(config, workdir) as envoy:
        print(envoy.listener_port("sidecar.ci:9080"))
"""

from __future__ import annotations

from lanectx.routing._errors import UnsupportedRouteError

from ._bootstrap import ROUTE_HEADER, envoy_config
from ._process import EnvoyProcess, find_envoy
from ._proxy import GATEWAY, ROOT_NAMESPACE, SIDECAR, Proxy

__all__ = [
    "GATEWAY",
    "ROOT_NAMESPACE",
    "ROUTE_HEADER",
    "SIDECAR",
    "EnvoyProcess",
    "Proxy",
    "UnsupportedRouteError",
    "envoy_config",
    "find_envoy",
    "parse_endpoint",
    "parse_proxy",
]

Endpoint = tuple[str, int]


def parse_endpoint(text: str) -> tuple[tuple[str, str], Endpoint]:
    """Parse ``service[.namespace]/subset=host:port`` into ``((service, subset), (host, port))``."""
    key, sep, address = text.partition("=")
    service, slash, subset = key.partition("/")
    host, colon, port = address.rpartition(":")
    if not (sep and slash and colon and service and subset and host and port.isdigit()):
        raise UnsupportedRouteError(f"bad endpoint {text!r}: expected SERVICE/SUBSET=HOST:PORT")
    return (service, subset), (host, int(port))


def parse_proxy(text: str) -> Proxy:
    """Parse ``sidecar/<namespace>`` or ``gateway/<namespace>[:port,...]`` into a `Proxy`."""
    kind, slash, rest = text.partition("/")
    namespace, _, ports = rest.partition(":")
    numbers = ports.split(",") if ports else []
    if not (slash and namespace) or not all(number.isdigit() for number in numbers):
        raise UnsupportedRouteError(
            f"bad proxy {text!r}: expected sidecar/NAMESPACE or gateway/NAMESPACE[:PORT,...]"
        )
    return Proxy(kind, namespace, ports=tuple(int(number) for number in numbers))
