"""The lane map file format: services, endpoints, and what is skipped or refused."""

from __future__ import annotations

import json

import pytest

from lanectx.lanemap import EMPTY, LaneMapError, parse_lane_map

CONTRACT_EXAMPLE = {
    "services": {"reviews": ["pr-31", "pr-314"], "worker": ["pr-7"]},
    "endpoints": {"reviews": {"stable": "127.0.0.1:9081", "pr-31": "127.0.0.1:9085"}},
}


def test_contract_example_parses() -> None:
    """The contract's example gives each service its lanes and each endpoint its address."""
    lanes = parse_lane_map(json.dumps(CONTRACT_EXAMPLE))
    assert lanes.lanes("reviews") == {"pr-31", "pr-314"}
    assert lanes.has_lane("worker", "pr-7")
    assert not lanes.has_lane("worker", "pr-31")
    assert not lanes.has_lane("worker", None)
    assert lanes.endpoint("reviews", "pr-31") == ("127.0.0.1", 9085)
    assert lanes.endpoint("reviews", None) == ("127.0.0.1", 9081)
    assert lanes.endpoint("reviews", "pr-314") is None
    assert lanes.endpoint("worker", None) is None
    assert "reviews" in lanes
    assert "details" not in lanes
    assert lanes.lanes("details") == frozenset()


def test_snapshot_is_read_only() -> None:
    """Nobody can change a loaded map in place."""
    lanes = parse_lane_map(json.dumps(CONTRACT_EXAMPLE))
    with pytest.raises(TypeError):
        lanes.services["details"] = frozenset()  # type: ignore[index]
    with pytest.raises(TypeError):
        lanes.endpoints["reviews"]["pr-7"] = ("x", 1)  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", '"x"', '{"services": []}', '{"services": "reviews"}', b"\xff\xfe"],
)
def test_unusable_maps_raise(text: str | bytes) -> None:
    """Invalid JSON, or services that are not an object, make the whole map unusable."""
    with pytest.raises(LaneMapError):
        parse_lane_map(text)


def test_bad_entries_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A bad lane or endpoint is skipped with a warning; the good entries are used."""
    text = json.dumps(
        {
            "services": {"Reviews": ["pr-31", "PR 7", 5], "worker": "pr-7", "queue": []},
            "endpoints": {
                "reviews": {"stable": "127.0.0.1:99999", "pr-31": "[::1]:9085", "BAD": "h:1"},
                "ratings": {"stable": "a b:80", "pr-31": "x/y:80", "pr-7": "rat-7.ns.svc:81"},
                "details": "h:1",
            },
        }
    )
    with caplog.at_level("WARNING", logger="lanectx"):
        lanes = parse_lane_map(text)
    assert lanes.lanes("reviews") == {"pr-31"}
    assert "worker" not in lanes
    assert "queue" in lanes  # a service with no lanes is still a known service
    assert lanes.endpoint("reviews", "pr-31") == ("::1", 9085)
    assert lanes.endpoint("reviews", None) is None
    assert "details" not in lanes.endpoints
    assert dict(lanes.endpoints["ratings"]) == {"pr-7": ("rat-7.ns.svc", 81)}
    assert "skipped entries" in caplog.text


def test_no_services_is_empty() -> None:
    """An object without services is a map with no lanes anywhere."""
    assert parse_lane_map("{}") == EMPTY
