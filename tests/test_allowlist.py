"""The allowlist judges the host a client will dial, however the URL spells it."""

from __future__ import annotations

import httpx
import pytest
import requests

import lanectx
from lanectx import LaneConfig

from .servers import CaptureServer

SHORT_ONLY = LaneConfig(allowed_hosts=("<short>",))
LOOPBACK_ONLY = LaneConfig(allowed_hosts=("<loopback>",))

# Spellings of 127.0.0.1 that resolvers (inet_aton) dial as that address.
LOOPBACK_NUMBERS = ["2130706433", "0x7f000001", "017700000001", "0x7f.1", "127.1"]


def _sent_lane(client: str, url: str) -> str | None:
    with lanectx.use_lane("pr-7"):
        if client == "httpx":
            with httpx.Client() as session:
                seen = session.get(url, timeout=10).json()
        else:
            seen = requests.get(url, timeout=10).json()
    lane: str | None = seen["headers"].get("x-lane-id")
    return lane


@pytest.mark.parametrize("client", ["httpx", "requests"])
@pytest.mark.parametrize("host", LOOPBACK_NUMBERS)
def test_ipv4_written_as_numbers_is_an_address(
    capture: CaptureServer, client: str, host: str
) -> None:
    """A number-form IPv4 host is an address: not a short name, allowed only as loopback."""
    url = f"http://{host}:{capture.port}/"
    lanectx.instrument(SHORT_ONLY)
    assert _sent_lane(client, url) is None
    lanectx.uninstrument()
    lanectx.instrument(LOOPBACK_ONLY)
    assert _sent_lane(client, url) == "pr-7"


@pytest.mark.parametrize(
    "host",
    [
        "3232235777",
        "3232235777.",
        "0xc0a80101",
        "0xc0a80101.",
        "030052000401",
        "192.168.257",
        "99999999999",
        "08",
    ],
)
def test_number_hosts_that_are_not_loopback_get_no_lane(host: str) -> None:
    """Non-loopback IPv4 in number form, and numbers no resolver reads, are never short names."""
    assert not LaneConfig().host_allowed(host)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("reviews", True),
        ("reviews.", False),
        ("reviews%2eexample%2ecom", False),
        ("reviews%2Eexample.com", False),
        ("reviews.ns.svc.", True),
        ("reviews.ns.svc.cluster.local.", True),
        ("localhost.", True),
        ("2130706433.", True),  # resolvers that take it dial 127.0.0.1
        ("0x7f000001.", True),
        ("r2d2", True),
    ],
)
def test_short_names_are_single_labels_without_a_trailing_dot(host: str, allowed: bool) -> None:
    """A trailing dot makes a fully qualified name; percent-encoded dots are still dots."""
    assert LaneConfig().host_allowed(host) is allowed


def test_exact_address_pattern_matches_every_spelling() -> None:
    """An address in allowed_hosts also allows its number forms (the same dialled address)."""
    config = LaneConfig(allowed_hosts=("10.0.0.1",))
    assert config.host_allowed("167772161")
    assert config.host_allowed("0x0a000001")
    assert not config.host_allowed("167772162")
