"""The proxies a local mesh imitates: sidecars and gateways, each in a namespace.

istiod builds each proxy's configuration from what that proxy may see: its namespace
decides short host names and which EnvoyFilters apply, its labels which workload
selectors match, and a gateway's server ports its listeners::

    Proxy("sidecar", "ci")                                   # a caller outside the lanes
    Proxy("gateway", "istio-system", {"istio": "ingressgateway"}, ports=(80,))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lanectx.routing._errors import UnsupportedRouteError

__all__ = ["GATEWAY", "ROOT_NAMESPACE", "SIDECAR", "Proxy"]

SIDECAR = "sidecar"
GATEWAY = "gateway"
ROOT_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class Proxy:
    """One Envoy proxy of the mesh: a *kind* (``sidecar`` or ``gateway``) in *namespace*.

    *labels* are the proxy's workload labels. A gateway listens on *ports* (its
    Gateway servers' ports, 80 by default); a sidecar on every HTTP service port, or on
    *ports* when given. Listeners are named ``<name>:<port>`` (*name* defaults to
    ``<kind>.<namespace>``).
    """

    kind: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (SIDECAR, GATEWAY):
            raise UnsupportedRouteError(f"proxy kind {self.kind!r}: expected sidecar or gateway")
        if not self.name:
            object.__setattr__(self, "name", f"{self.kind}.{self.namespace}")
        if self.kind == GATEWAY and not self.ports:
            object.__setattr__(self, "ports", (80,))

    def listener_name(self, port: int) -> str:
        """Return the name of this proxy's listener on *port*."""
        return f"{self.name}:{port}"
