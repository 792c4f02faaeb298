"""Routing without a mesh: where one outgoing call goes, decided from the lane map.

route = route_call(config, "reviews.shop.svc", 9080, "pr-31")
route.host, route.port, route.version   # ('reviews-pr-31.shop.svc', 9080, 'pr-31')

Every client integration calls `route_call` per call (per redirect hop, per RPC) when
``config.routing == "client"`` and replaces host and port with the route's.
"""

from __future__ import annotations

import ipaddress
import threading
from functools import lru_cache
from typing import NamedTuple

from .._config import LaneConfig, active_config
from ._map import STABLE, LaneMap
from ._source import LaneMapSource

__all__ = [
    "REASON_LANE",
    "REASON_NOT_DEPLOYED",
    "REASON_NO_LANE",
    "Route",
    "lane_map",
    "route_call",
    "service_of_host",
]

REASON_LANE = "lane-version"  # the lane has a version of the service: sent there
REASON_NO_LANE = "no-lane"  # the call carries no lane: stable
REASON_NOT_DEPLOYED = "lane-not-deployed"  # the lane has no version of it: stable

_MEMO_SIZE = 4096  # decisions kept per map snapshot (lanes come from requests: bounded)
_UNKNOWN = object()
_sources: dict[str, LaneMapSource] = {}
_sources_lock = threading.Lock()


class Route(NamedTuple):
    """Where one call goes: *host*/*port* to dial, the *version* that serves it, and why."""

    service: str
    host: str
    port: int | None
    version: str  # the lane, or "stable"
    reason: str

    def rerouted(self, host: str, port: int | None) -> bool:
        """Return True when this route dials something other than *host*:*port*."""
        return self.host != host or self.port != port


def lane_map(config: LaneConfig | None = None) -> LaneMap:
    """Return the current lane map of *config* (default: the active config)."""
    path = (config or active_config()).lane_map
    source = _sources.get(path)
    if source is None:
        with _sources_lock:
            source = _sources.setdefault(path, LaneMapSource(path))
    return source.current()


@lru_cache(maxsize=1024)
def service_of_host(host: str) -> str | None:
    """Return the service a host names (its first DNS label), None for an IP address."""
    host = host.strip("[]").rstrip(".").lower()
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".", 1)[0]
    return None


def _lane_host(host: str, service: str, lane: str) -> str:
    rest = host[len(service) :]
    return f"{service}-{lane}{rest}"


def route_call(
    config: LaneConfig,
    host: str | None,
    port: int | None,
    lane: str | None,
    lanes: LaneMap | None = None,
) -> Route | None:
    """Decide where a call to *host*:*port* in *lane* goes; None when it is not routed.

    A call is routed only in client routing mode, to an allowed host whose service
    is in the lane map. It goes to the lane's version when the map lists the lane
    for the service (``endpoints.<svc>.<lane>``, else ``<svc>-<lane>`` in place of
    the first label, port kept), and to stable otherwise (``endpoints.<svc>.stable``,
    else the host as addressed).
    """
    if config.routing != "client" or not host or not config.host_allowed(host):
        return None
    if lanes is None:
        lanes = lane_map(config)
    key = (host, port, lane)
    memo = lanes.decisions
    route = memo.get(key, _UNKNOWN)
    if route is _UNKNOWN:
        route = _decide(lanes, host, port, lane)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = route
    return route  # type: ignore[no-any-return]


def _decide(lanes: LaneMap, host: str, port: int | None, lane: str | None) -> Route | None:
    service = service_of_host(host)
    if service is None or service not in lanes:
        return None
    addressed = host.rstrip(".").lower()
    if lane is not None and lanes.has_lane(service, lane):
        endpoint = lanes.endpoint(service, lane)
        if endpoint is not None:
            return Route(service, endpoint[0], endpoint[1], lane, REASON_LANE)
        return Route(service, _lane_host(addressed, service, lane), port, lane, REASON_LANE)
    reason = REASON_NO_LANE if lane is None else REASON_NOT_DEPLOYED
    endpoint = lanes.endpoint(service, None)
    if endpoint is not None:
        return Route(service, endpoint[0], endpoint[1], STABLE, reason)
    return Route(service, host, port, STABLE, reason)
