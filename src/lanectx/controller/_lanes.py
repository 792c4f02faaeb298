"""Read Lane objects: the lanes-spec entry of each, when its TTL runs out, what it looks like.

    entry = lane_entry(lane)               # {"services": {"reviews": "img"}, "ttl": "72h"}
    changed = spec_changed_at(lane, now)   # when the current generation was first seen
    expiry = expires_at(lane, changed)     # None without a ttl

Everything here is pure: objects in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "Manifest",
    "expires_at",
    "format_time",
    "lane_entry",
    "parse_time",
    "spec_changed_at",
    "status_of",
    "ttl_seconds",
]

GROUP = "lanectx.dev"
API_VERSION = f"{GROUP}/v1alpha1"
KIND = "Lane"
Manifest = dict[str, Any]
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def format_time(moment: datetime) -> str:
    """Return *moment* as Kubernetes writes times: RFC 3339, UTC, whole seconds."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> datetime | None:
    """Return the time in *text* (RFC 3339), or None when it is absent or malformed."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def ttl_seconds(ttl: object) -> int | None:
    """Return a TTL such as ``72h`` in seconds; None when absent or not of that form."""
    if not isinstance(ttl, str) or len(ttl) < 2 or ttl[-1] not in _UNITS:
        return None
    number = ttl[:-1]
    if not number.isdigit() or number.startswith("0") or len(number) > 6:
        return None
    return int(number) * _UNITS[ttl[-1]]


def status_of(lane: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return *lane*'s status, or an empty one when it is absent or not a mapping."""
    status = lane.get("status")
    return status if isinstance(status, Mapping) else {}


def lane_entry(lane: Mapping[str, Any]) -> dict[str, Any]:
    """Return the lanes-spec entry (``services`` + ``ttl``) that Lane object *lane* asks for.

    Shapes the CRD schema would refuse are passed on as they are, so the spec parser
    reports them in its own words.
    """
    spec = lane.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    raw_services = spec.get("services")
    services: dict[str, Any] = {}
    if isinstance(raw_services, list):
        for item in raw_services:
            if isinstance(item, Mapping):
                services[str(item.get("name"))] = item.get("image")
    entry: dict[str, Any] = {"services": services}
    if "ttl" in spec:
        entry["ttl"] = spec["ttl"]
    return entry


def spec_changed_at(lane: Mapping[str, Any], now: datetime) -> datetime:
    """Return when *lane*'s current spec was first seen: the TTL counts from then.

    That is the recorded ``status.specChangedAt`` while ``status.observedGeneration`` is
    the current generation; the creation time for a new Lane; *now* for a changed one.
    """
    meta = lane.get("metadata") or {}
    status = status_of(lane)
    generation = meta.get("generation", 1)
    if status.get("observedGeneration") == generation:
        recorded = parse_time(status.get("specChangedAt"))
        if recorded is not None:
            return recorded
    if generation == 1:
        created = parse_time(meta.get("creationTimestamp"))
        if created is not None and created <= now:
            return created
    return now


def expires_at(lane: Mapping[str, Any], changed: datetime) -> datetime | None:
    """Return when *lane* expires, counted from *changed*; None when it has no valid TTL."""
    spec = lane.get("spec")
    seconds = ttl_seconds(spec.get("ttl") if isinstance(spec, Mapping) else None)
    return None if seconds is None else changed + timedelta(seconds=seconds)
