"""What istiod knows of the mesh from the rendered objects: services, ports, subsets.

Host names follow Istio: a name without a dot is short for
``<name>.<namespace of the object>.svc.cluster.local``; a name with a dot is taken as
it is. A port's protocol is its ``appProtocol``, else its name's prefix (``http-web``);
only HTTP ports (http, http2, grpc, grpc-web) get HTTP routes::

    registry = Registry(objects)
    registry.fqdn("reviews", "shop")          # 'reviews.shop.svc.cluster.local'
    registry.sidecar_domains(fqdn, 9080, "ci")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._routes import refuse_unknown

__all__ = ["HTTP_PROTOCOLS", "Registry", "ServicePorts", "protocol_of"]

SUFFIX = ".svc.cluster.local"
HTTP_PROTOCOLS = ("http", "http2", "grpc", "grpc-web")
_HTTP2 = ("http2", "grpc", "grpc-web")


def protocol_of(port: Mapping[str, Any]) -> str:
    """Return the protocol Istio reads from a Service port (``""`` when undeclared)."""
    declared = str(port.get("appProtocol") or "").lower().removeprefix("kubernetes.io/")
    if declared:
        return "http2" if declared == "h2c" else declared
    name = str(port.get("name") or "").lower()
    prefix = name.partition("-")[0]
    return prefix if prefix in (*HTTP_PROTOCOLS, "tcp", "tls", "https") else ""


@dataclass
class ServicePorts:
    """One mesh service: its namespace and the protocol of each port."""

    name: str
    namespace: str
    ports: dict[int, str] = field(default_factory=dict)

    def is_http(self, port: int) -> bool:
        """Return True when *port* declares an HTTP protocol (routes apply there)."""
        return self.ports.get(port) in HTTP_PROTOCOLS

    def is_http2(self, port: int) -> bool:
        """Return True when *port* speaks HTTP/2 upstream (gRPC)."""
        return self.ports.get(port) in _HTTP2


class Registry:
    """The services (by host name) and DestinationRule subsets among *objects*."""

    def __init__(self, objects: Sequence[Mapping[str, Any]]):
        self.services: dict[str, ServicePorts] = {}
        self.subsets: dict[str, set[str]] = {}
        for obj in objects:
            meta = obj.get("metadata") or {}
            name, namespace = str(meta.get("name")), str(meta.get("namespace", "default"))
            spec = obj.get("spec") or {}
            if obj.get("kind") == "Service":
                service = ServicePorts(name, namespace)
                for port in spec.get("ports") or []:
                    if isinstance(port, Mapping) and isinstance(port.get("port"), int):
                        service.ports[port["port"]] = protocol_of(port)
                self.services[f"{name}.{namespace}{SUFFIX}"] = service
            elif obj.get("kind") == "DestinationRule":
                where = f"DestinationRule/{name}"
                refuse_unknown(spec, ("host", "subsets"), where)
                host = self.fqdn(str(spec.get("host")), namespace)
                for subset in spec.get("subsets") or []:
                    refuse_unknown(subset, ("labels", "name"), f"{where} subset")
                    self.subsets.setdefault(host, set()).add(str(subset.get("name")))

    @staticmethod
    def fqdn(host: str, namespace: str) -> str:
        """Return *host* as istiod resolves it in an object of *namespace*."""
        return host if "." in host else f"{host}.{namespace}{SUFFIX}"

    def ports(self) -> list[int]:
        """Return every HTTP port of the mesh's services, sorted."""
        return sorted({p for s in self.services.values() for p in s.ports if s.is_http(p)})

    def sidecar_domains(self, host: str, port: int, proxy_namespace: str) -> list[str]:
        """Return the Host values a sidecar in *proxy_namespace* routes to *host*:*port*.

        The short name only from the service's own namespace; ``<name>.<ns>`` and
        ``<name>.<ns>.svc`` from anywhere; each with and without ``:<port>``.
        """
        names = [host]
        service = self.services.get(host)
        if service is not None:
            qualified = f"{service.name}.{service.namespace}"
            if service.namespace == proxy_namespace:
                names.append(service.name)
            names += [qualified, f"{qualified}.svc"]
        return [d for name in names for d in (name, f"{name}:{port}")]
