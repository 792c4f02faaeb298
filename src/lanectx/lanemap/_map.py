"""The lane map: which lanes have a version of which service, and optional endpoints.

lanes = parse_lane_map('{"services": {"reviews": ["pr-31"]}}')
lanes.has_lane("reviews", "pr-31")   # True
lanes.endpoint("reviews", "pr-31")   # None: the per-lane Service reviews-pr-31
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._lane import is_valid_lane
from ..exceptions import ConfigurationError

__all__ = ["EMPTY", "STABLE", "LaneMap", "LaneMapError", "parse_lane_map"]

logger = logging.getLogger("lanectx")

STABLE = "stable"
_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?")
_NONE: frozenset[str] = frozenset()


class LaneMapError(ConfigurationError):
    """A lane map that cannot be used at all (not JSON, or ``services`` not an object)."""


@dataclass(frozen=True)
class LaneMap:
    """One read-only snapshot of the lane map.

    *services* maps a service name to the lanes that have a version of it;
    *endpoints* maps a service name to ``{lane or "stable": (host, port)}``.
    """

    services: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    endpoints: Mapping[str, Mapping[str, tuple[str, int]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Routing decisions already made with this snapshot (see `route_call`); internal.
    decisions: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def lanes(self, service: str) -> frozenset[str]:
        """Return the lanes that have a version of *service* (empty when none)."""
        return self.services.get(service, _NONE)

    def has_lane(self, service: str, lane: str | None) -> bool:
        """Return True when *lane* has a version of *service*."""
        return lane is not None and lane in self.services.get(service, _NONE)

    def endpoint(self, service: str, lane: str | None) -> tuple[str, int] | None:
        """Return the (host, port) the map gives for *service* in *lane* (None: stable)."""
        endpoints = self.endpoints.get(service)
        if endpoints is None:
            return None
        return endpoints.get(STABLE if lane is None else lane)

    def __contains__(self, service: object) -> bool:
        return service in self.services


EMPTY = LaneMap()


def _endpoint(value: object) -> tuple[str, int] | None:
    """Return (host, port) of ``host:port`` (a DNS name or an IP address), else None."""
    if not isinstance(value, str):
        return None
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]").lower()
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if _HOSTNAME.fullmatch(host) is None:  # what clients put in a URL must be a host
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
    return host, int(port)


def _services(raw: Mapping[str, Any], skipped: list[str]) -> dict[str, frozenset[str]]:
    services: dict[str, frozenset[str]] = {}
    for name, lanes in raw.items():
        if not isinstance(lanes, list):
            skipped.append(f"services.{name}")
            continue
        good = [lane for lane in lanes if is_valid_lane(lane)]
        if len(good) != len(lanes):
            skipped.append(f"services.{name} (invalid lanes)")
        services[str(name).strip().lower()] = frozenset(good)
    return services


def _endpoints(raw: object, skipped: list[str]) -> dict[str, Mapping[str, tuple[str, int]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        skipped.append("endpoints")
        return {}
    endpoints: dict[str, Mapping[str, tuple[str, int]]] = {}
    for name, by_lane in raw.items():
        if not isinstance(by_lane, dict):
            skipped.append(f"endpoints.{name}")
            continue
        entries = {}
        for lane, value in by_lane.items():
            address = _endpoint(value)
            if address is None or not (lane == STABLE or is_valid_lane(lane)):
                skipped.append(f"endpoints.{name}.{lane}")
                continue
            entries[lane] = address
        endpoints[str(name).strip().lower()] = MappingProxyType(entries)
    return endpoints


def parse_lane_map(text: str | bytes, source: str = "lane map") -> LaneMap:
    """Parse the JSON of a lane map; raise `LaneMapError` when it cannot be used at all.

    Entries that are wrong on their own (a lane that is not a lane id, an endpoint
    that is not ``host:port``) are skipped and logged; the rest of the map is used.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise LaneMapError(f"{source}: not JSON ({err})") from None
    if not isinstance(data, dict):
        raise LaneMapError(f"{source}: expected a JSON object")
    raw = data.get("services", {})
    if not isinstance(raw, dict):
        raise LaneMapError(f"{source}: 'services' must be an object")
    skipped: list[str] = []
    services = _services(raw, skipped)
    endpoints = _endpoints(data.get("endpoints"), skipped)
    if skipped:
        logger.warning("%s: skipped entries %s", source, ", ".join(skipped[:10]))
    return LaneMap(MappingProxyType(services), MappingProxyType(endpoints))
