"""The shipped ingress policy (k8s/ingress Lua filter) strips lane choice on real Envoy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.envoy

POLICY = Path(__file__).resolve().parents[2] / "k8s" / "ingress" / "strip-lane-headers.yaml"
SPEC = {
    "namespace": "shop",
    "services": {"front": {"port": 80, "image": "f:1"}},
    "lanes": {"pr-5": {"front": "f:pr-5"}},
}


def _lua_filter(trusted: str) -> dict[str, Any]:
    """The policy's Lua filter, with *trusted* as the trusted address prefix list."""
    (policy,) = yaml.safe_load_all(POLICY.read_text())
    value = policy["spec"]["configPatches"][0]["patch"]["value"]
    source = value["typed_config"]["default_source_code"]["inline_string"]
    assert "local trusted_prefixes = {}" in source
    source = source.replace("local trusted_prefixes = {}", f"local trusted_prefixes = {trusted}")
    return {
        **value,
        "typed_config": {**value["typed_config"], "default_source_code": {"inline_string": source}},
    }


@pytest.fixture(scope="module")
def untrusted(start_mesh: Any) -> Any:
    """Envoy with the policy as shipped: nobody is trusted."""
    return start_mesh(SPEC, http_filters=[_lua_filter("{}")])


@pytest.fixture(scope="module")
def trusted(start_mesh: Any) -> Any:
    """Envoy with the policy trusting loopback callers (the documented opt-in)."""
    return start_mesh(SPEC, http_filters=[_lua_filter('{"10.", "127."}')])


@pytest.mark.parametrize(
    "headers",
    [
        [("x-lane-id", "pr-5")],
        [("x-pr-id", "5")],
        [("baggage", "lane=pr-5")],
        [("baggage", "a=1"), ("baggage", " lane = pr-5 ;p=1")],
    ],
)
def test_untrusted_callers_cannot_pick_a_lane(
    untrusted: Any, headers: list[tuple[str, str]]
) -> None:
    """Lane headers and baggage lane members from outside are removed before routing."""
    assert untrusted.send("front", headers)[1] == "stable"
    seen = untrusted.last_body["headers"]
    assert seen["x-lane-id"] is None
    assert seen["x-pr-id"] is None
    assert not any("lane" in value for value in seen["baggage"] or [])


def test_other_baggage_members_pass_the_policy(untrusted: Any) -> None:
    """Only the lane member goes; other members and their properties stay."""
    untrusted.send("front", [("baggage", "a=1;p=2, lane=pr-5, b=3")])
    assert untrusted.last_body["headers"]["baggage"] == ["a=1;p=2,b=3"]


def test_trusted_callers_keep_their_lane(trusted: Any) -> None:
    """A caller from a trusted address prefix keeps its lane headers."""
    assert trusted.send("front", [("x-pr-id", "5")])[1] == "pr-5"
    assert trusted.send("front", [("baggage", "lane=pr-5")])[1] == "pr-5"
