"""`LaneConfig`: every name lanectx uses, validated once, frozen.

config = LaneConfig(allowed_hosts=("<short>", "*.internal.example"))
config = LaneConfig.from_env()   # LANECTX_* variables
# the original x-pr-id design: baggage pr_id=123, header x-pr-id: 123
seed = LaneConfig(lane_headers=("x-pr-id",), pr_headers=(),
                  outbound_header="x-pr-id", baggage_key="pr_id")
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from ._trust import Networks, caller_trusted, parse_callers
from .exceptions import ConfigurationError

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_LANE_MAP",
    "ROUTING_MODES",
    "LaneConfig",
    "active_config",
    "set_active_config",
]

logger = logging.getLogger("lanectx")

SHORT = "<short>"
LOOPBACK = "<loopback>"
DEFAULT_ALLOWED_HOSTS = (SHORT, "*.svc", "*.svc.cluster.local", "localhost", LOOPBACK)
DEFAULT_LANE_MAP = "/etc/lanectx/lanes.json"
ROUTING_MODES = ("mesh", "client")

_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_HOST = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_.:-]*[a-z0-9_])?|\*|<short>|<loopback>")
_PREFIX = re.compile(r"([a-z0-9][a-z0-9-]{0,19})?")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _names(value: Iterable[str], what: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigurationError(f"{what} must be a sequence of strings, not one string")
    names = tuple(str(item).strip().lower() for item in value)
    for name in names:
        if not pattern.fullmatch(name):
            raise ConfigurationError(f"{what}: {name!r} is not a valid name")
    return names


@dataclass(frozen=True)
class LaneConfig:
    """Names and switches of lane propagation; validated at construction.

    Inbound, the first valid source wins: each of *lane_headers*, then each of
    *pr_headers* (``123`` or ``pr-123`` becomes ``<pr_prefix>123``), then the
    *baggage_key* member of ``baggage``. Outbound, to *allowed_hosts* only, the
    lane is sent as *outbound_header* (None: not sent) and as the baggage member.
    Host patterns: an exact name or address, ``*.suffix``, ``*`` (any host),
    ``<short>`` (a name without a dot) and ``<loopback>`` (127.0.0.0/8, ::1).

    Trust (for edge services): a lane is honoured only from *trusted_callers*
    (``*``, addresses, networks, ``<loopback>``) and, with a *trust_header*, only
    on requests that carry it (equal to *trust_value* when set); other requests
    are served without a lane. Caller addresses are checked by the server
    middleware and gRPC interceptors, and by the propagator when its carrier is an
    ASGI scope or a WSGI environ; from other carriers it checks only the header.

    Routing: with *routing* ``"mesh"`` (the default) the mesh routes on the lane
    headers; with ``"client"`` lanectx's clients send each call to the lane's
    version of a service where the lane map (the JSON file *lane_map*) lists one.

    Hop report: with a *served_header* (such as ``x-lane-served``) the server
    middleware answers every request with it, valued this process's lane or
    ``stable``. The hop metric is labelled by service and outcome; with
    *hop_metric_lane* also by the requested lane (one series per lane: opt in).
    """

    enabled: bool = True
    lane_headers: tuple[str, ...] = ("x-lane-id",)
    pr_headers: tuple[str, ...] = ("x-pr-id",)
    pr_prefix: str = "pr-"
    baggage_key: str = "lane"
    outbound_header: str | None = "x-lane-id"
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    span_attribute: str = "lane.id"
    trusted_callers: tuple[str, ...] = ("*",)
    trust_header: str | None = None
    trust_value: str | None = field(default=None, repr=False)
    routing: str = "mesh"
    lane_map: str = DEFAULT_LANE_MAP
    served_header: str | None = None
    hop_metric_lane: bool = False
    trust_all: bool = field(init=False, repr=False, compare=False)
    trusted_networks: Networks | None = field(init=False, repr=False, compare=False)
    inbound_keys: frozenset[str | bytes] = field(init=False, repr=False, compare=False)
    first_header: str | None = field(init=False, repr=False, compare=False)
    environ_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _hosts: dict[str, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        if not isinstance(self.enabled, bool):
            raise ConfigurationError(f"enabled must be a bool, not {self.enabled!r}")
        put(self, "lane_headers", _names(self.lane_headers, "lane_headers", _TOKEN))
        put(self, "pr_headers", _names(self.pr_headers, "pr_headers", _TOKEN))
        put(self, "allowed_hosts", _names(self.allowed_hosts, "allowed_hosts", _HOST))
        (key,) = _names([self.baggage_key], "baggage_key", _TOKEN)
        put(self, "baggage_key", key)
        if self.outbound_header is not None:
            (out,) = _names([self.outbound_header], "outbound_header", _TOKEN)
            put(self, "outbound_header", out or None)
        if not isinstance(self.pr_prefix, str) or not _PREFIX.fullmatch(self.pr_prefix):
            raise ConfigurationError(
                f"pr_prefix {self.pr_prefix!r} must be empty or a short lane prefix like 'pr-'"
            )
        if not isinstance(self.span_attribute, str) or not self.span_attribute:
            raise ConfigurationError("span_attribute must be a non-empty string")
        if "baggage" in self.lane_headers or "baggage" in self.pr_headers:
            raise ConfigurationError("'baggage' is read through baggage_key, not as a header")
        networks = parse_callers(self.trusted_callers)
        put(self, "trusted_callers", tuple(str(c).strip() for c in self.trusted_callers))
        put(self, "trusted_networks", networks)
        if self.trust_header is not None:
            (trust,) = _names([self.trust_header], "trust_header", _TOKEN)
            put(self, "trust_header", trust or None)
        if self.trust_value is not None and not isinstance(self.trust_value, str):
            raise ConfigurationError("trust_value must be a string")
        if self.routing not in ROUTING_MODES:
            raise ConfigurationError(
                f"routing must be one of {', '.join(ROUTING_MODES)}, not {self.routing!r}"
            )
        if not isinstance(self.lane_map, str) or not self.lane_map.strip():
            raise ConfigurationError("lane_map must be the path of the lane map file")
        if self.served_header is not None:
            (served,) = _names([self.served_header], "served_header", _TOKEN)
            put(self, "served_header", served or None)
        if not isinstance(self.hop_metric_lane, bool):
            raise ConfigurationError(f"hop_metric_lane must be a bool: {self.hop_metric_lane!r}")
        put(self, "trust_all", networks is None and self.trust_header is None)
        put(self, "_hosts", {})
        names = (*self.lane_headers, *self.pr_headers, "baggage")
        put(self, "first_header", self.lane_headers[0] if self.lane_headers else None)
        put(self, "inbound_keys", frozenset((*names, *(n.encode("latin-1") for n in names))))
        put(self, "environ_keys", tuple("HTTP_" + n.upper().replace("-", "_") for n in names))

    def host_allowed(self, host: str | None) -> bool:
        """Return True when outbound calls to *host* may carry the lane."""
        if not host:
            return False
        allowed = self._hosts.get(host)
        if allowed is None:
            if len(self._hosts) >= 1024:  # many distinct hosts: start over, stay bounded
                self._hosts.clear()
            allowed = self._hosts[host] = _host_allowed(self.allowed_hosts, host.lower())
        return allowed

    def caller_trusted(self, peer: str | None, sent: Sequence[str] | None) -> bool:
        """Return True when a caller at *peer*, sending *sent* as the trust header, may set a lane.

        *peer* is the caller's address (None when unknown, e.g. in a propagator,
        which then checks only the header).
        """
        if self.trust_all:
            return True
        networks = self.trusted_networks if peer is not None else None
        return caller_trusted(networks, self.trust_header, self.trust_value, peer, sent)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LaneConfig:
        """Build a config from ``LANECTX_*`` variables; unset ones keep their default.

        ``LANECTX_ENABLED`` (true/false), ``LANECTX_LANE_HEADERS``,
        ``LANECTX_PR_HEADERS``, ``LANECTX_ALLOWED_HOSTS`` (comma-separated, empty
        for none), ``LANECTX_PR_PREFIX``, ``LANECTX_BAGGAGE_KEY``,
        ``LANECTX_OUTBOUND_HEADER`` (empty: do not send the header),
        ``LANECTX_TRUSTED_CALLERS`` (comma-separated), ``LANECTX_TRUST_HEADER``,
        ``LANECTX_TRUST_VALUE``, ``LANECTX_ROUTING`` (``mesh`` or ``client``),
        ``LANECTX_LANE_MAP`` (the lane map's path), ``LANECTX_SERVED_HEADER`` (empty:
        no header), ``LANECTX_HOP_METRIC_LANE`` (true/false).
        """
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        for name in ("enabled", "hop_metric_lane"):
            raw = env.get(f"LANECTX_{name.upper()}")
            if raw is not None:
                flag = raw.strip().lower()
                if flag not in _TRUE | _FALSE:
                    raise ConfigurationError(
                        f"LANECTX_{name.upper()}={raw!r}: expected true or false"
                    )
                kwargs[name] = flag in _TRUE
        for name in ("lane_headers", "pr_headers", "allowed_hosts", "trusted_callers"):
            raw = env.get(f"LANECTX_{name.upper()}")
            if raw is not None:
                kwargs[name] = tuple(item.strip() for item in raw.split(",") if item.strip())
        texts = ("pr_prefix", "baggage_key", "outbound_header", "trust_header", "trust_value")
        for name in (*texts, "served_header"):
            raw = env.get(f"LANECTX_{name.upper()}")
            if raw is not None:
                empty = "" if name in ("pr_prefix", "baggage_key") else None
                kwargs[name] = raw.strip() or empty
        for name in ("routing", "lane_map"):
            raw = env.get(f"LANECTX_{name.upper()}")
            if raw is not None and raw.strip():
                kwargs[name] = raw.strip().lower() if name == "routing" else raw.strip()
        try:
            return cls(**kwargs)  # type: ignore[arg-type]
        except ConfigurationError as err:
            raise ConfigurationError(f"LANECTX_* environment: {err}") from None


def _host_allowed(patterns: tuple[str, ...], host: str) -> bool:
    if "%" in host:  # judge the name as it will be resolved, not as it is spelled
        host = unquote(host)
    host = host.strip("[]")
    fqdn = host.endswith(".")
    host = host.rstrip(".")
    address = dialled_address(host)
    for pattern in patterns:
        if pattern == "*" or pattern == host:
            return True
        if pattern == SHORT:
            # A one-label name with a trailing dot is fully qualified, and a number is an
            # IPv4 address (``2130706433``, ``0x7f000001``): neither is a cluster short name.
            short = "." not in host and ":" not in host and not _IPV4_PART.fullmatch(host)
            if short and not fqdn:
                return True
        elif pattern == LOOPBACK:
            if address is not None and address.is_loopback:
                return True
        elif address is not None:
            if str(address) == pattern:
                return True
        elif pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def _ipv4_number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int("0" + part[2:], 16)
    return int(part, 8) if part.startswith("0") else int(part)


def dialled_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address *host* dials when it is one, in any form a resolver accepts, else None.

    Besides dotted quads and IPv6, IPv4 written as one to four numbers in decimal, hex or
    octal (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) is an address, as for inet_aton.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if len(parts) > 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        return None
    try:
        numbers = [_ipv4_number(part) for part in parts]
    except ValueError:  # "08": not octal, and not an address either
        return None
    *high, last = numbers
    if any(n > 255 for n in high) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for index, number in enumerate(high):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


_active: LaneConfig | None = None


def set_active_config(config: LaneConfig | None) -> None:
    """Make *config* the one used by code that was given none (None: from env again)."""
    global _active
    _active = config


def active_config() -> LaneConfig:
    """Return the config in force: the one given to `instrument()`, else from env."""
    global _active
    if _active is None:
        try:
            _active = LaneConfig.from_env()
        except ConfigurationError as err:
            logger.error("%s; using the defaults", err)
            _active = LaneConfig()
    return _active
