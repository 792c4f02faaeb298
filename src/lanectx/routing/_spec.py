"""Parse and validate a lanes spec; every problem is one clear line (`SpecError`).

    spec = load_spec("k8s/lanes.yaml")
    spec = parse_spec({"namespace": "shop", "services": {...}, "lanes": {...}})

See ``docs/spec.md`` for the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lanectx._lane import MAX_LANE_LENGTH, is_valid_lane

from ._errors import SpecError
from ._model import (
    CANARY,
    LANE_ROUTING,
    STABLE,
    Canary,
    Headers,
    Ingress,
    Lane,
    LanesSpec,
    Port,
    Service,
)
from ._names import DNS_LABEL, object_name
from ._yaml import load_yaml_text

__all__ = ["check_lane_name", "check_namespace", "load_spec", "parse_spec"]

PROTOCOLS = ("grpc", "http")
_RESERVED_LANES = (STABLE, CANARY)
_TTL = re.compile(r"[1-9][0-9]{0,5}[mhd]")
_HEADER = re.compile(r"[a-z0-9][a-z0-9-]*")
_HOST = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _mapping(value: object, where: str, keys: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """Return *value* as a mapping; with *keys*, refuse any other key."""
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(value).__name__}")
    if keys:
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            raise SpecError(
                f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(keys))})"
            )
    return value


def _string(value: object, where: str) -> str:
    """Return *value* if it is a non-empty string without whitespace."""
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise SpecError(f"{where}: expected a non-empty string without spaces, got {value!r}")
    return value


def _port(value: object, where: str) -> int:
    """Return *value* if it is a TCP port number."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(f"{where}: expected a port number 1-65535, got {value!r}")
    return value


def check_lane_name(lane: object, where: str = "lane") -> str:
    """Return *lane* if it may name a lane in manifests, else raise `SpecError`."""
    if not isinstance(lane, str) or not is_valid_lane(lane):
        raise SpecError(
            f"{where}: invalid lane name {lane!r}: expected a lowercase DNS label of at most "
            f"{MAX_LANE_LENGTH} characters, such as 'pr-123'"
        )
    if lane in _RESERVED_LANES:
        raise SpecError(f"{where}: lane name {lane!r} is reserved for the baseline subsets")
    return lane


def check_namespace(namespace: object, where: str = "namespace") -> str:
    """Return *namespace* if it is a valid namespace name, else raise `SpecError`."""
    if not isinstance(namespace, str) or DNS_LABEL.fullmatch(namespace) is None:
        raise SpecError(f"{where}: invalid namespace {namespace!r}: expected a DNS label")
    return namespace


def _ports(raw: Mapping[str, Any], where: str) -> tuple[Port, ...]:
    """Read ``port`` + ``protocol`` or a ``ports`` list (none at all: no port); no duplicates."""
    if "ports" in raw:
        if "port" in raw or "protocol" in raw:
            raise SpecError(f"{where}: give either 'ports' or 'port'/'protocol', not both")
        items = raw["ports"]
        if not isinstance(items, list) or not items:
            raise SpecError(f"{where}.ports: expected a non-empty list")
    elif "port" in raw:
        items = [{"port": raw["port"], "protocol": raw.get("protocol", "http")}]
    else:
        return ()  # no port: a queue consumer, reached by messages only
    ports: list[Port] = []
    for index, item in enumerate(items):
        at = f"{where}.ports[{index}]" if "ports" in raw else where
        entry = _mapping(item, at, ("port", "protocol"))
        number = _port(entry.get("port"), f"{at}.port")
        protocol = entry.get("protocol", "http")
        if protocol not in PROTOCOLS:
            raise SpecError(
                f"{at}.protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}"
            )
        if any(port.number == number for port in ports):
            raise SpecError(f"{at}.port: duplicate port {number}")
        ports.append(Port(number, protocol))
    return tuple(ports)


def _service(name: object, raw: object) -> Service:
    """Read one entry of ``services``."""
    where = f"services.{name}"
    if not isinstance(name, str) or DNS_LABEL.fullmatch(name) is None or len(name) > 63:
        raise SpecError(f"{where}: invalid service name: expected a DNS-1035 label like 'reviews'")
    entry = _mapping(raw, where, ("canary", "image", "ingress", "port", "ports", "protocol"))
    ports = _ports(entry, where)
    image = _string(entry.get("image"), f"{where}.image")
    canary = None
    if "canary" in entry:
        data = _mapping(entry["canary"], f"{where}.canary", ("image", "weight"))
        weight = data.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 99:
            raise SpecError(f"{where}.canary.weight: expected a percentage 1-99, got {weight!r}")
        canary = Canary(_string(data.get("image"), f"{where}.canary.image"), weight)
        object_name("Deployment", name, CANARY, where=where)
    ingress = None
    if "ingress" in entry:
        data = _mapping(entry["ingress"], f"{where}.ingress", ("gateway", "hosts"))
        gateway = _string(data.get("gateway"), f"{where}.ingress.gateway")
        hosts = data.get("hosts")
        if not isinstance(hosts, list) or not hosts:
            raise SpecError(f"{where}.ingress.hosts: expected a non-empty list of host names")
        for host in hosts:
            if not isinstance(host, str) or _HOST.fullmatch(host) is None:
                raise SpecError(f"{where}.ingress.hosts: invalid host {host!r}")
        ingress = Ingress(gateway, tuple(hosts))
    object_name("Deployment", name, STABLE, where=where)
    return Service(name, ports, image, canary, ingress)


def _lane(name: object, raw: object, services: Mapping[str, Service]) -> Lane:
    """Read one entry of ``lanes``: ``{svc: image}`` or ``{services: {...}, ttl: 72h}``."""
    lane = check_lane_name(name, f"lanes.{name}")
    where = f"lanes.{lane}"
    entry = _mapping(raw, where)
    ttl = None
    if isinstance(entry.get("services"), Mapping):
        _mapping(entry, where, ("services", "ttl"))
        if "ttl" in entry:
            ttl = entry["ttl"]
            if not isinstance(ttl, str) or _TTL.fullmatch(ttl) is None:
                raise SpecError(
                    f"{where}.ttl: expected a duration like 30m, 12h or 7d, got {ttl!r}"
                )
        entry = entry["services"]
    if not entry:
        raise SpecError(f"{where}: a lane must redeploy at least one service")
    images: dict[str, str] = {}
    for service, image in entry.items():
        if service not in services:
            known = ", ".join(sorted(services))
            raise SpecError(f"{where}: unknown service {service!r} (known: {known})")
        images[service] = _string(image, f"{where}.{service}")
        object_name("Deployment", service, lane, where=where)
    return Lane(lane, tuple(sorted(images.items())), ttl)


def _headers(raw: object) -> Headers:
    """Read the optional ``headers`` section (header names the routes match on)."""
    entry = _mapping(raw, "headers", ("baggageKey", "lane", "pr", "prPrefix"))
    values = {key: entry.get(key) for key in ("lane", "pr", "baggageKey")}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or _HEADER.fullmatch(value) is None):
            raise SpecError(f"headers.{key}: expected a lowercase header name, got {value!r}")
    prefix = entry.get("prPrefix", "pr-")
    if not isinstance(prefix, str) or not is_valid_lane(prefix + "1"):
        raise SpecError(f"headers.prPrefix: expected a lane prefix like 'pr-', got {prefix!r}")
    default = Headers()
    return Headers(
        lane=values["lane"] or default.lane,
        pr=values["pr"] or default.pr,
        baggage_key=values["baggageKey"] or default.baggage_key,
        pr_prefix=prefix,
    )


def _lane_routing(value: object) -> str:
    """Read ``laneRouting``: ``routes`` (the default) or ``table``."""
    if value not in LANE_ROUTING:
        choices = ", ".join(LANE_ROUTING)
        raise SpecError(f"laneRouting: expected one of {choices}, got {value!r}")
    return str(value)


def parse_spec(data: object) -> LanesSpec:
    """Validate parsed YAML *data* and return the `LanesSpec` it describes."""
    root = _mapping(
        data,
        "spec",
        ("headers", "laneRouting", "lanes", "meshRootNamespace", "namespace", "services"),
    )
    namespace = check_namespace(root.get("namespace", "default"))
    raw_services = _mapping(root.get("services"), "services")
    if not raw_services:
        raise SpecError("services: the spec names no service")
    services = {str(name): _service(name, raw) for name, raw in raw_services.items()}
    raw_lanes = _mapping(root.get("lanes") or {}, "lanes")
    lanes = [_lane(name, raw, services) for name, raw in raw_lanes.items()]
    return LanesSpec(
        namespace=namespace,
        services=tuple(services[name] for name in sorted(services)),
        lanes=tuple(sorted(lanes, key=lambda lane: lane.name)),
        headers=_headers(root.get("headers") or {}),
        lane_routing=_lane_routing(root.get("laneRouting", "routes")),
        root_namespace=check_namespace(
            root.get("meshRootNamespace", "istio-system"), "meshRootNamespace"
        ),
    )


def load_spec(path: str | Path) -> LanesSpec:
    """Read, parse and validate the lanes spec at *path*."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"{path}: cannot read the spec: {err.strerror}") from None
    data = load_yaml_text(text, str(path))
    try:
        return parse_spec(data)
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None
