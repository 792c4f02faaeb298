"""Hostile input is read only up to the W3C limits, and never fails a request."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import pytest

import lanectx
from lanectx import LaneConfig, wsgi
from lanectx._arrived import members
from lanectx._baggage import MAX_BYTES, MAX_HEADERS, MAX_MEMBERS
from lanectx._lane import MAX_REPEATS, lane_from_pairs

from .servers import CaptureServer, run_wsgi

CONFIG = LaneConfig()


def _lane(pairs: list[tuple[str, str]]) -> str | None:
    return lane_from_pairs(CONFIG, pairs)


@pytest.mark.parametrize(("before", "lane"), [(MAX_MEMBERS - 1, "pr-7"), (MAX_MEMBERS, None)])
def test_only_the_first_180_members_are_read(before: int, lane: str | None) -> None:
    """A lane member after the 180th list member is not read."""
    header = ",".join([*(f"k{i}=1" for i in range(before)), "lane=pr-7"])
    assert _lane([("baggage", header)]) == lane


def test_only_the_first_8192_bytes_are_read() -> None:
    """A member that does not fit whole in 8192 bytes is not read."""
    lane = "lane=pr-7"
    fits = "k=" + "v" * (MAX_BYTES - len(lane) - 3) + "," + lane
    assert len(fits) == MAX_BYTES
    assert _lane([("baggage", fits)]) == "pr-7"
    assert _lane([("baggage", fits + "8")]) is None  # lane=pr-78 does not fit whole


@pytest.mark.parametrize(("before", "lane"), [(MAX_HEADERS - 1, "pr-7"), (MAX_HEADERS, None)])
def test_only_the_first_baggage_headers_are_read(before: int, lane: str | None) -> None:
    """A lane in a baggage header after the eighth is not read."""
    assert _lane([*[("baggage", "a=1")] * before, ("baggage", "lane=pr-7")]) == lane


def test_repeated_lane_headers_stop_the_scan() -> None:
    """After a few repeated lane headers nothing more is read: a flood chooses no lane."""
    assert _lane([*[("x-lane-id", "BAD!")] * (MAX_REPEATS - 1), ("x-pr-id", "7")]) == "pr-7"
    assert _lane([*[("x-lane-id", "BAD!")] * 5000, ("x-pr-id", "7")]) is None


def test_thousands_of_lane_members_are_not_all_looked_at() -> None:
    """10,000 invalid lane members give no lane, and the valid one after them is not read."""
    assert _lane([("baggage", ",".join(["lane=BAD!"] * 10_000 + ["lane=pr-7"]))]) is None


def test_pass_through_keeps_the_members_within_the_limits() -> None:
    """Pass-through keeps the first members that fit: at most 180, at most 8192 bytes."""
    assert len(members([",".join(f"k{i}=1" for i in range(500))], "lane")) == MAX_MEMBERS
    assert len(members(["a=" + "%41" * 30_000], "lane")) == 0


def _edge(capture_url: str) -> Callable[..., Iterable[bytes]]:
    import requests

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen = requests.get(capture_url, timeout=10).json()["headers"]
        start_response("200 OK", [("content-type", "application/json")])
        return [json.dumps({"lane": lanectx.current_lane(), "sent": seen}).encode()]

    return app


@pytest.mark.parametrize(
    "headers",
    [
        {"baggage": "a=1," + ",".join(f"k{i}=" + "%41" * 300 for i in range(70))},
        {"baggage": ",".join(["lane=BAD!"] * 10_000)},
        {"x-lane-id": ",".join(["BAD!"] * 5_000), "baggage": "a=1"},
    ],
    ids=["64-kib-encoded", "10000-invalid-lanes", "5000-joined-x-lane-id"],
)
def test_hostile_requests_are_served_without_a_lane(
    capture: CaptureServer, headers: dict[str, str]
) -> None:
    """A real WSGI edge answers hostile requests normally, with no lane sent on."""
    lanectx.instrument()
    with run_wsgi(wsgi.LaneMiddleware(_edge(capture.url))) as url:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 200
            answer = json.load(response)
    assert answer["lane"] is None
    assert "x-lane-id" not in answer["sent"]
    assert "lane=" not in answer["sent"].get("baggage", "")
    assert len(answer["sent"].get("baggage", "")) <= MAX_BYTES
