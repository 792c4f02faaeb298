"""Which callers may choose a request's lane (the trust boundary of an edge service).

config = LaneConfig(trusted_callers=("10.0.0.0/8",), trust_header="x-lanectx-trusted")
caller_trusted(config, "10.1.2.3", ["1"])   # True
caller_trusted(config, "203.0.113.9", None)  # False: its lane is ignored
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from functools import lru_cache
from itertools import islice
from urllib.parse import unquote

from .exceptions import ConfigurationError

__all__ = ["Networks", "caller_trusted", "carrier_peer", "parse_callers", "peer_host"]

Networks = tuple["ipaddress.IPv4Network | ipaddress.IPv6Network", ...]
MAX_TRUST_VALUES = 8
"""Repeated trust headers compared at most (one is enough for an honest caller)."""
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def parse_callers(callers: Sequence[str]) -> Networks | None:
    """Parse trusted caller patterns; None means every caller is trusted (``*``)."""
    if isinstance(callers, str):
        raise ConfigurationError("trusted_callers must be a sequence of strings, not one string")
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for caller in callers:
        item = str(caller).strip()
        if item == "*":
            return None
        if item == "<loopback>":
            networks.extend(_LOOPBACK)
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"trusted_callers: {item!r} is not '*', '<loopback>', an address or a network"
            ) from None
    return tuple(networks)


def peer_host(peer: str | None) -> str | None:
    """The address in a gRPC peer string (``ipv4:1.2.3.4:5``, ``ipv6:%5B::1%5D:5``)."""
    if peer is None:
        return None
    kind, _, rest = unquote(peer).partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


def carrier_peer(carrier: object) -> str | None:
    """The caller's address in a propagator carrier that holds one, else None.

    OpenTelemetry's ASGI and WSGI middlewares extract from the ASGI scope
    (``client``) and the WSGI environ (``REMOTE_ADDR``), so a propagator sees the
    address there even when it runs in a fresh context.
    """
    if not isinstance(carrier, dict):
        return None
    if carrier.get("type") in ("http", "websocket"):
        client = carrier.get("client")
        return str(client[0]) if client else None
    if "wsgi.version" in carrier:
        address = carrier.get("REMOTE_ADDR")
        return address if isinstance(address, str) else None
    return None


@lru_cache(maxsize=1024)
def _in_networks(networks: Networks, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)


def caller_trusted(
    networks: Networks | None,
    header: str | None,
    value: str | None,
    peer: str | None,
    sent: Sequence[str] | None,
) -> bool:
    """Return True when a request from *peer* carrying *sent* (the trust header) may set a lane.

    *networks* None trusts every address; otherwise the peer address must be in one.
    With a trust *header*, the request must carry it (with *value*, if one is set).
    """
    if networks is not None and (peer is None or not _in_networks(networks, peer)):
        return False
    if header is None:
        return True
    if not sent:
        return False
    return value is None or any(_equal(s, value) for s in islice(sent, MAX_TRUST_VALUES))


def _equal(sent: object, value: str) -> bool:
    """Compare a sent trust header with the expected *value* in constant time.

    Header values are data: any text (non-ASCII too) or bytes is compared, never raised on.
    """
    if isinstance(sent, str):
        given = sent.strip().encode("utf-8", "surrogatepass")
    elif isinstance(sent, bytes):
        given = sent.strip()
    else:
        return False
    return hmac.compare_digest(given, value.encode("utf-8", "surrogatepass"))
