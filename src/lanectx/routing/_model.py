"""The lanes spec as frozen dataclasses (parsing lives in `_spec`).

spec.service("reviews").protocol  # 'http'
[lane.name for lane in spec.lanes_of("reviews")]  # ['pr-123']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Canary", "Headers", "Ingress", "Lane", "LanesSpec", "Port", "Service"]

STABLE = "stable"
CANARY = "canary"
LANE_ROUTING = ("routes", "table")


@dataclass(frozen=True)
class Port:
    """One service port and the protocol spoken on it (``http`` or ``grpc``)."""

    number: int
    protocol: str

    @property
    def name(self) -> str:
        """The Kubernetes port name; Istio reads the protocol from its prefix."""
        return f"{self.protocol}-{self.number}"


@dataclass(frozen=True)
class Canary:
    """A weighted canary of a service: *weight* percent of unlaned traffic goes to *image*."""

    image: str
    weight: int


@dataclass(frozen=True)
class Ingress:
    """Exposes a service through an ingress Gateway for the given external *hosts*."""

    gateway: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """A service of the application: its ports, stable image and optional canary / ingress."""

    name: str
    ports: tuple[Port, ...]
    image: str
    canary: Canary | None = None
    ingress: Ingress | None = None

    @property
    def protocol(self) -> str:
        """The protocol of the first port (the one routes are written for)."""
        return self.ports[0].protocol


@dataclass(frozen=True)
class Lane:
    """A lane: the services it redeploys (name -> image) and an optional time to live."""

    name: str
    images: tuple[tuple[str, str], ...]
    ttl: str | None = None

    def image_of(self, service: str) -> str | None:
        """Return the lane's image of *service*, or None when the lane does not redeploy it."""
        return dict(self.images).get(service)


@dataclass(frozen=True)
class Headers:
    """The request headers routes match on (the contract's defaults)."""

    lane: str = "x-lane-id"
    pr: str = "x-pr-id"
    baggage_key: str = "lane"
    pr_prefix: str = "pr-"


@dataclass(frozen=True)
class LanesSpec:
    """A validated lanes spec: namespace, services and lanes, each sorted by name.

    *lane_routing* is ``routes`` (one mesh route per lane and header source) or
    ``table`` (one route whose cluster is looked up in a per-service lane table).
    *root_namespace* is the mesh's root namespace, where lane tables go.
    """

    namespace: str
    services: tuple[Service, ...]
    lanes: tuple[Lane, ...] = ()
    headers: Headers = Headers()
    lane_routing: str = "routes"
    root_namespace: str = "istio-system"

    def service(self, name: str) -> Service:
        """Return the service called *name* (KeyError when unknown)."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def lanes_of(self, service: str) -> list[Lane]:
        """Return the lanes that redeploy *service*, sorted by lane name."""
        return [lane for lane in self.lanes if lane.image_of(service) is not None]

    def with_lane(self, lane: Lane) -> LanesSpec:
        """Return a copy where *lane* is added, or merged into the lane of the same name."""
        old = next((item for item in self.lanes if item.name == lane.name), None)
        if old is not None:
            images = dict(old.images) | dict(lane.images)
            lane = Lane(lane.name, tuple(sorted(images.items())), lane.ttl or old.ttl)
        others = [item for item in self.lanes if item.name != lane.name]
        lanes = tuple(sorted([*others, lane], key=lambda item: item.name))
        return dataclasses.replace(self, lanes=lanes)

    def only_service(self, name: str) -> LanesSpec:
        """Return a copy holding only service *name* and the lanes' images of it."""
        lanes = tuple(
            Lane(lane.name, ((name, image),), lane.ttl)
            for lane in self.lanes
            if (image := lane.image_of(name)) is not None
        )
        return dataclasses.replace(self, services=(self.service(name),), lanes=lanes)
