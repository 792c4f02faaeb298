"""The controller's colouring EnvoyFilter on a real Envoy colours requests into the right lanes."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from lanectx.colouring import Request, Rules
from lanectx.controller import plan
from lanectx.controller._colouring import lane_rules
from lanectx.routing import parse_spec, render

from ..colouring.test_gateway import _gateway_lane, gateway_mesh

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BASE = {"namespace": "shop", "services": {"front": {"port": 80, "image": "f:1"}}}
COLOURING = {
    # pr-2 is the older Lane: its rules come first, and its agent=pc rule wins over pr-1's.
    "pr-2": (
        "2026-12-01T09:00:00Z",
        [
            {"name": "qa", "match": {"header": {"name": "agent", "exact": "pc"}}},
            {"name": "half", "match": {"percent": {"of": {"header": "x-user-id"}, "value": 50}}},
        ],
    ),
    "pr-1": (
        "2026-12-01T10:00:00Z",
        [
            {"name": "qa", "match": {"header": {"name": "agent", "exact": "pc"}}},
            {"name": "gold", "match": {"cookie": {"name": "tier", "exact": "gold"}}},
            {"name": "callback", "match": {"host": {"exact": "aaa.com"}}},
            {"name": "by-query", "match": {"query": {"name": "lane", "exact": "x"}}},
        ],
    ),
    "pr-3": ("2026-12-01T11:00:00Z", None),  # a lane without colouring: reached explicitly only
}


def lanes() -> list[dict[str, Any]]:
    """The stored Lanes of the test, each redeploying 'front'."""
    found = []
    for name, (created, rules) in COLOURING.items():
        spec: dict[str, Any] = {"services": [{"name": "front", "image": f"f:{name}"}]}
        if rules is not None:
            spec["colouring"] = rules
        meta = {"name": name, "namespace": "shop", "uid": f"u-{name}", "generation": 1}
        found.append({"metadata": {**meta, "creationTimestamp": created}, "spec": spec})
    return found


@pytest.fixture
def gateway(tmp_path: Path) -> Any:
    """Envoy with the routes and the colouring EnvoyFilter of one controller plan."""
    objects = plan(BASE, lanes(), [], NOW).objects
    (filter_object,) = [obj for obj in objects if obj["kind"] == "EnvoyFilter"]
    # The cluster holds the base install (stable Services) beside what the controller applies.
    base_install = [obj for obj in render(parse_spec(BASE), "istio") if obj["kind"] == "Service"]
    routes = [*base_install, *(obj for obj in objects if obj["kind"] != "EnvoyFilter")]
    with gateway_mesh(routes, filter_object, tmp_path) as mesh:
        yield mesh


def python_lane(headers: list[tuple[str, str]]) -> str | None:
    """The lane the Python colouring gives with every Lane's rules, oldest Lane first."""
    rules = Rules([rule for lane in lanes()[:2] for rule in lane_rules(lane) or ()])
    rule = rules.colour(
        Request(headers if any(n == "host" for n, _ in headers) else [("host", "front"), *headers])
    )
    return None if rule is None else rule.lane


@pytest.mark.parametrize(
    ("headers", "lane"),
    [
        ([], None),
        ([("agent", "pc")], "pr-2"),
        ([("cookie", "a=1; tier=gold")], "pr-1"),
        ([("host", "aaa.com")], "pr-1"),
        ([("agent", "pc"), ("x-lane-id", "pr-3")], "pr-3"),
        ([("cookie", "tier=gold"), ("x-lane-id", "Bad Lane")], "pr-1"),
    ],
    ids=["nothing", "conflict-older-wins", "cookie", "host", "explicit-wins", "invalid-ignored"],
)
def test_requests_are_coloured_into_their_lanes(
    gateway: Any, headers: list[tuple[str, str]], lane: str | None
) -> None:
    """Each request reaches the lane (and subset) its first matching Lane rule names."""
    seen, subset = _gateway_lane(gateway, headers)
    assert seen == lane
    assert subset == (lane or "stable")


def test_percent_users_land_where_python_colouring_puts_them(gateway: Any) -> None:
    """50 users: the gateway's share of pr-2 is exactly the Python colouring's."""
    users = [[("x-user-id", f"user-{number}")] for number in range(50)]
    gateway_lanes = [_gateway_lane(gateway, headers)[0] for headers in users]
    assert gateway_lanes == [python_lane(headers) for headers in users]
    assert 10 < gateway_lanes.count("pr-2") < 40
