"""spec.colouring of Lanes: one gateway colouring EnvoyFilter from every live Lane, in order."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lanectx.controller import FAILED, MANAGER, PENDING, LaneController, plan
from lanectx.controller._reconcile import MANAGED_BY

from .conftest import BASE_SPEC, NAMESPACE, Running, lane_object, validate_manifests
from .helpers import (
    delete_lane,
    event_reasons,
    lane_status,
    mark_ready,
    phase_of,
    put_lane,
    wait_for,
)
from .kube_mock import KubeMock
from .test_crd import lane_schema

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BASE = yaml.safe_load(BASE_SPEC)
AGENT_PC = {"header": {"name": "agent", "exact": "pc"}}


def coloured_lane(
    name: str, rules: Any, created: str = "2026-12-01T11:00:00Z", **extra: Any
) -> dict[str, Any]:
    """A stored Lane of reviews with colouring *rules*, created at *created*."""
    lane = lane_object(name, {"reviews": f"reviews:{name}"}, **extra)
    lane["spec"]["colouring"] = rules
    lane["metadata"].update(
        uid=f"uid-{name}", generation=1, creationTimestamp=created, resourceVersion="3"
    )
    return lane


def gateway_filter(result: Any) -> dict[str, Any] | None:
    """The colouring EnvoyFilter of a plan, if it has one."""
    found = [obj for obj in result.objects if obj["kind"] == "EnvoyFilter"]
    assert len(found) <= 1
    return found[0] if found else None


def gateway_rules(result: Any) -> list[tuple[str, str]]:
    """(rule name, lane) of each rule of the plan's gateway filter, in order."""
    envoy_filter = gateway_filter(result)
    if envoy_filter is None:
        return []
    value = envoy_filter["spec"]["configPatches"][0]["patch"]["value"]
    source = value["typed_config"]["default_source_code"]["inline_string"]
    return re.findall(r'\{name = "([^"]+)", lane = "([^"]+)"', source)


def coloured(result: Any, name: str) -> dict[str, Any]:
    """The Coloured condition of Lane *name* in a plan ({} without one)."""
    (item,) = [item for item in result.lanes if item.name == name]
    conditions = item.status["conditions"]
    return dict(next((cond for cond in conditions if cond["type"] == "Coloured"), {}))


def test_the_rules_of_every_lane_make_one_filter_oldest_lane_first() -> None:
    """pr-9 (older) comes before pr-1; each rule is named <lane>.<name>; both are Coloured."""
    young = coloured_lane("pr-1", [{"name": "qa", "match": AGENT_PC}], "2026-12-01T11:30:00Z")
    old = coloured_lane(
        "pr-9",
        [
            {"match": {"host": {"exact": "aaa.com"}}},
            {"name": "tier", "match": {"cookie": {"name": "t", "exact": "g"}}},
        ],
        "2026-12-01T11:00:00Z",
    )
    result = plan(BASE, [young, old], [], NOW)
    assert gateway_rules(result) == [
        ("pr-9.rule-1", "pr-9"),
        ("pr-9.tier", "pr-9"),
        ("pr-1.qa", "pr-1"),
    ]
    envoy_filter = gateway_filter(result)
    assert envoy_filter is not None
    assert envoy_filter["metadata"]["namespace"] == "shop"
    assert envoy_filter["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "lanectx-controller",
        "lanectx.dev/lanes-namespace": "shop",
    }
    assert "ownerReferences" not in envoy_filter["metadata"]
    condition = coloured(result, "pr-1")
    assert (condition["status"], condition["reason"]) == ("True", "RulesApplied")
    assert coloured(result, "pr-9")["message"] == "2 rule(s) at the gateway"


def test_lanes_created_in_the_same_second_are_ordered_by_name() -> None:
    """Equal creation times: the lane names decide, whatever order the API lists them in."""
    lanes = [
        coloured_lane(name, [{"name": "a", "match": {"header": {"name": "x-team", "exact": name}}}])
        for name in ("pr-3", "pr-1", "pr-2")
    ]
    orders = {tuple(gateway_rules(plan(BASE, order, [], NOW))) for order in (lanes, lanes[::-1])}
    assert orders == {(("pr-1.a", "pr-1"), ("pr-2.a", "pr-2"), ("pr-3.a", "pr-3"))}


@pytest.mark.parametrize(
    ("older", "younger"),
    [
        (AGENT_PC, AGENT_PC),
        (AGENT_PC, {**AGENT_PC, "cookie": {"name": "t", "exact": "q"}}),
        (AGENT_PC, {"cookie": {"name": "t", "exact": "q"}, **AGENT_PC}),
        (
            {"percent": {"of": {"header": "x-user-id"}, "value": 10}},
            {"percent": {"of": {"header": "x-user-id"}, "value": 5}},
        ),
    ],
    ids=["same-match", "narrower-match", "narrower-match-listed-later", "smaller-share"],
)
def test_a_rule_an_older_lanes_rule_always_takes_first_is_a_reported_conflict(
    older: dict[str, Any], younger: dict[str, Any]
) -> None:
    """The younger Lane's dead rule is left out, Coloured=False (ColouringConflict) + a Warning."""
    first = coloured_lane("pr-5", [{"name": "qa", "match": older}], "2026-12-01T10:00:00Z")
    second = coloured_lane("pr-4", [{"name": "qa", "match": younger}], "2026-12-01T10:00:01Z")
    result = plan(BASE, [second, first], [], NOW)
    assert gateway_rules(result) == [("pr-5.qa", "pr-5")]
    condition = coloured(result, "pr-4")
    assert condition["status"] == "False"
    assert condition["reason"] == "ColouringConflict"
    assert "rule pr-4.qa never applies: rule pr-5.qa of Lane pr-5" in condition["message"]
    (item,) = [item for item in result.lanes if item.name == "pr-4"]
    assert item.status["phase"] == PENDING  # its services still run and route
    assert ("Warning", "ColouringConflict", condition["message"]) in item.events


def test_a_wider_share_or_another_seed_is_no_conflict() -> None:
    """A younger Lane's larger share, or another seed, still gets users: both rules are kept."""
    share = {"of": {"cookie": "uid"}, "value": 5}
    first = coloured_lane("pr-1", [{"match": {"percent": share}}], "2026-12-01T10:00:00Z")
    wider = coloured_lane(
        "pr-2", [{"match": {"percent": {**share, "value": 20}}}], "2026-12-01T10:01:00Z"
    )
    seeded = coloured_lane(
        "pr-3", [{"match": {"percent": {**share, "seed": "s"}}}], "2026-12-01T10:02:00Z"
    )
    result = plan(BASE, [first, wider, seeded], [], NOW)
    assert [lane for _, lane in gateway_rules(result)] == ["pr-1", "pr-2", "pr-3"]
    assert {coloured(result, name)["status"] for name in ("pr-1", "pr-2", "pr-3")} == {"True"}


def test_rules_the_gateway_cannot_run_are_left_out_and_reported() -> None:
    """query, jwt and regex rules: not in the filter; Coloured=False (NotAtGateway) names them."""
    rules = [
        {"name": "q", "match": {"query": {"name": "lane", "exact": "x"}}},
        {"name": "claim", "match": {"jwt": {"claim": "tier", "exact": "beta"}}},
        {"name": "re", "match": {"header": {"name": "agent", "regex": "pc-[0-9]+"}}},
        {"name": "ok", "match": AGENT_PC},
    ]
    result = plan(BASE, [coloured_lane("pr-1", rules)], [], NOW)
    assert gateway_rules(result) == [("pr-1.ok", "pr-1")]
    condition = coloured(result, "pr-1")
    assert condition["reason"] == "NotAtGateway"
    for name in ("pr-1.q", "pr-1.claim", "pr-1.re"):
        assert f"rule {name} is not run" in condition["message"]


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ("agent=pc", "spec.colouring must be a list of rules"),
        ([{"match": {"hots": {"exact": "a"}}}], "rule 1 (pr-1.rule-1): unknown matcher 'hots'"),
        ([{"match": AGENT_PC, "lane": "pr-2"}], "no 'lane' here: the lane is the Lane's name"),
        (
            [{"match": {"percent": {"of": {"header": "u"}, "value": 105}}}],
            "value must be a number from 0 to 100",
        ),
        (
            [{"match": {"header": {"name": "a", "exact": "x", "prefix": "y"}}}],
            "give exactly one of",
        ),
        (
            [{"name": "a", "match": AGENT_PC}, {"name": "a", "match": AGENT_PC}],
            "duplicate rule name",
        ),
        ([{"name": "bad name", "match": AGENT_PC}], "use letters, digits"),
        (
            [{"match": {"jwt": {"claim": "t", "exact": "b", "key_file": "/etc/passwd"}}}],
            "'key_file' names a file",
        ),
        (
            [{"match": {"jwt": {"claim": "t", "exact": "b", "secret_env": "HOME"}}}],
            "'secret_env' names a file",
        ),
        ([{"match": {"header": {"name": "a", "regex": "("}}}], "bad regex"),
        (["agent"], "rule 1: expected a mapping with match"),
    ],
    ids=[
        "not-a-list",
        "unknown-matcher",
        "lane-given",
        "percent-over-100",
        "two-text-ops",
        "duplicate-name",
        "bad-name",
        "jwt-key-file",
        "jwt-secret-env",
        "bad-regex",
        "rule-not-a-mapping",
    ],
)
def test_malformed_rules_fail_the_lane_with_the_parsers_message(rules: Any, needle: str) -> None:
    """InvalidColouring with a one-line message; the lane takes no part, the others go on."""
    bad = coloured_lane("pr-1", rules)
    good = coloured_lane("pr-2", [{"match": AGENT_PC}])
    result = plan(BASE, [bad, good], [], NOW)
    (item,) = [item for item in result.lanes if item.name == "pr-1"]
    assert item.status["phase"] == FAILED
    accepted = item.status["conditions"][0]
    assert (accepted["type"], accepted["status"], accepted["reason"]) == (
        "Accepted",
        "False",
        "InvalidColouring",
    )
    assert needle in accepted["message"]
    assert "\n" not in accepted["message"]
    assert gateway_rules(result) == [("pr-2.rule-1", "pr-2")]
    assert not any(
        obj["metadata"].get("labels", {}).get("lanectx.dev/lane") == "pr-1"
        for obj in result.objects
    )


def test_an_expired_lane_colours_nothing_and_frees_its_rules() -> None:
    """Past its TTL, the older Lane's rules leave the filter; the younger's same rule returns."""
    old = coloured_lane("pr-1", [{"match": AGENT_PC}], "2026-12-01T09:00:00Z", ttl="1h")
    young = coloured_lane("pr-2", [{"match": AGENT_PC}], "2026-12-01T09:30:00Z")
    assert gateway_rules(plan(BASE, [old, young], [], NOW - timedelta(hours=2, minutes=30))) == [
        ("pr-1.rule-1", "pr-1")
    ]
    result = plan(BASE, [old, young], [], NOW)
    assert gateway_rules(result) == [("pr-2.rule-1", "pr-2")]
    assert coloured(result, "pr-1") == {}
    assert coloured(result, "pr-2")["status"] == "True"


def test_no_rules_left_means_no_filter() -> None:
    """Without colouring (or only rules the gateway cannot run) no EnvoyFilter is planned."""
    plain = lane_object("pr-1", {"reviews": "reviews:pr-1"})
    plain["metadata"].update(uid="u", generation=1, creationTimestamp="2026-12-01T11:00:00Z")
    query_only = coloured_lane("pr-2", [{"match": {"query": {"name": "l", "exact": "x"}}}])
    result = plan(BASE, [plain, query_only], [], NOW)
    assert gateway_filter(result) is None
    assert coloured(result, "pr-1") == {}


def test_targets_without_an_istio_gateway_report_it() -> None:
    """gateway-api and kubernetes targets render no EnvoyFilter; Coloured=False (NoGateway)."""
    for target in ("gateway-api", "kubernetes"):
        result = plan(BASE, [coloured_lane("pr-1", [{"match": AGENT_PC}])], [], NOW, target)
        assert gateway_filter(result) is None
        condition = coloured(result, "pr-1")
        assert condition["reason"] == "NoGateway"


def test_a_colouring_round_over_its_own_result_changes_nothing() -> None:
    """Idempotent: with the written status in place, the same status, the same filter, no Events."""
    lanes = [
        coloured_lane("pr-1", [{"match": AGENT_PC}], "2026-12-01T09:00:00Z"),
        coloured_lane("pr-2", [{"match": AGENT_PC}], "2026-12-01T09:30:00Z"),
    ]
    first = plan(BASE, lanes, [], NOW)
    settled = [
        {**copy.deepcopy(lane), "status": item.status}
        for lane, item in zip(lanes, first.lanes, strict=True)
    ]
    later = plan(BASE, settled, [], NOW + timedelta(minutes=5))
    assert [item.status for item in later.lanes] == [item.status for item in first.lanes]
    assert all(item.events == () for item in later.lanes)
    assert gateway_filter(later) == gateway_filter(first)


def test_the_planned_filter_passes_the_strict_validator(tmp_path: Path) -> None:
    """The colouring EnvoyFilter (and the rest of the plan) validate against the real schemas."""
    lanes = [
        coloured_lane("pr-1", [{"name": "qa", "match": AGENT_PC}]),
        coloured_lane(
            "pr-2", [{"match": {"percent": {"of": {"cookie": "uid"}, "value": 12.5, "seed": "a"}}}]
        ),
    ]
    objects = plan(BASE, lanes, [], NOW).objects
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    result = validate_manifests(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK EnvoyFilter/lanectx-colouring-shop" in result.stdout


GOOD_RULES = [
    {"name": "qa", "match": AGENT_PC},
    {"match": {"cookie": {"name": "tier", "prefix": "gold"}, "host": {"suffix": ".example"}}},
    {"match": {"query": {"name": "lane", "exact": "x"}}},
    {"match": {"jwt": {"claim": "org.tier", "header": "x-token", "exact": "beta"}}},
    {"match": {"percent": {"of": {"header": "x-user-id"}, "value": 12.5, "seed": "s:1"}}},
]


def test_the_crd_accepts_every_rule_form() -> None:
    """header, cookie, query, host, jwt and percent rules pass the Lane schema."""
    lane = coloured_lane("pr-1", GOOD_RULES)
    jsonschema.Draft7Validator(lane_schema()).validate(lane)


@pytest.mark.parametrize(
    "rule",
    [
        {"name": "qa"},
        {"match": {}},
        {"match": {"header": {"exact": "pc"}}},
        {"match": {"header": {"name": "agent"}}},
        {"match": {"header": {"name": "agent", "exact": "pc", "suffix": "c"}}},
        {"match": {"header": {"name": "bad name", "exact": "pc"}}},
        {"match": {"host": {"exact": "a", "prefix": "b"}}},
        {"match": {"jwt": {"exact": "beta"}}},
        {"match": {"percent": {"of": {"header": "u"}, "value": 105}}},
        {"match": {"percent": {"of": {"header": "u", "cookie": "c"}, "value": 5}}},
        {"match": {"percent": {"of": {"header": "u"}, "value": 5, "seed": "no spaces"}}},
        {"match": {"percent": {"value": 5}}},
        {"name": "a-name-longer-than-22-chars", "match": AGENT_PC},
        {"name": "-dash", "match": AGENT_PC},
    ],
    ids=[
        "no-match",
        "empty-match",
        "header-without-name",
        "header-without-text",
        "header-with-two-texts",
        "bad-header-name",
        "host-with-two-texts",
        "jwt-without-claim",
        "percent-over-100",
        "percent-of-both",
        "bad-seed",
        "percent-of-nothing",
        "long-name",
        "dash-first-name",
    ],
)
def test_the_crd_refuses_malformed_rules(rule: dict[str, Any]) -> None:
    """The schema refuses what it can see is wrong; the controller checks the rest again."""
    lane = coloured_lane("pr-1", [rule])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(lane_schema()).validate(lane)


def stored_rules(mock: KubeMock, namespace: str = NAMESPACE) -> list[tuple[str, str]]:
    """(rule, lane) of the colouring EnvoyFilter stored in the mock, in order ([] without)."""
    envoy_filter = mock.objects("envoyfilters", namespace).get("lanectx-colouring-shop")
    if envoy_filter is None:
        return []
    value = envoy_filter["spec"]["configPatches"][0]["patch"]["value"]
    source = value["typed_config"]["default_source_code"]["inline_string"]
    return re.findall(r'\{name = "([^"]+)", lane = "([^"]+)"', source)


def stored_coloured(mock: KubeMock, name: str) -> tuple[str, str] | None:
    """(status, reason) of the stored Coloured condition of Lane *name*."""
    conditions = lane_status(mock, name).get("conditions") or []
    found = [item for item in conditions if item["type"] == "Coloured"]
    return (found[0]["status"], found[0]["reason"]) if found else None


def new_lane(name: str, rules: Any) -> dict[str, Any]:
    """A Lane of reviews with colouring *rules*, as a user applies it."""
    lane = lane_object(name, {"reviews": f"reviews:{name}"})
    lane["spec"]["colouring"] = rules
    return lane


def test_the_controller_applies_one_filter_and_follows_the_lanes(
    mock: KubeMock, start_controller: Callable[..., Running]
) -> None:
    """Applied, re-rendered on a conflict and on deletion, pruned with the last rule."""
    running = start_controller()
    put_lane(mock, new_lane("pr-1", [{"name": "qa", "match": AGENT_PC}]))
    wait_for(lambda: stored_rules(mock) == [("pr-1.qa", "pr-1")], what="pr-1's filter")
    wait_for(lambda: stored_coloured(mock, "pr-1") == ("True", "RulesApplied"), what="Coloured")
    envoy_filter = mock.objects("envoyfilters", NAMESPACE)["lanectx-colouring-shop"]
    assert envoy_filter["metadata"]["labels"]["app.kubernetes.io/managed-by"] == MANAGER
    time.sleep(1.1)  # creation times have whole seconds: pr-0 is younger than pr-1
    put_lane(
        mock,
        new_lane(
            "pr-0",
            [
                {"name": "qa", "match": AGENT_PC},
                {"name": "b", "match": {"host": {"exact": "b.com"}}},
            ],
        ),
    )
    wait_for(
        lambda: stored_coloured(mock, "pr-0") == ("False", "ColouringConflict"), what="the conflict"
    )
    assert stored_rules(mock) == [("pr-1.qa", "pr-1"), ("pr-0.b", "pr-0")]
    wait_for(lambda: "ColouringConflict" in event_reasons(mock, "pr-0"), what="the Warning Event")
    assert running.thread.is_alive()
    delete_lane(mock, "pr-1")
    wait_for(
        lambda: stored_rules(mock) == [("pr-0.qa", "pr-0"), ("pr-0.b", "pr-0")], what="re-rendered"
    )
    wait_for(
        lambda: stored_coloured(mock, "pr-0") == ("True", "RulesApplied"), what="pr-0 Coloured"
    )
    wait_for(lambda: event_reasons(mock, "pr-0")[-1] == "RulesApplied", what="the Event")
    put_lane(mock, lane_object("pr-0", {"reviews": "reviews:pr-0"}))  # its rules removed
    wait_for(
        lambda: "lanectx-colouring-shop" not in mock.objects("envoyfilters", NAMESPACE),
        what="the prune",
    )
    wait_for(lambda: stored_coloured(mock, "pr-0") is None, what="no Coloured condition")
    running.stop()


def test_malformed_rules_from_the_api_fail_that_lane_only(
    mock: KubeMock, start_controller: Callable[..., Running]
) -> None:
    """A Lane whose rules the schema would refuse is Failed (InvalidColouring); the loop goes on."""
    running = start_controller()
    put_lane(
        mock, new_lane("pr-1", [{"match": {"percent": {"of": {"header": "u"}, "value": "all"}}}])
    )
    put_lane(mock, new_lane("pr-2", [{"match": AGENT_PC}]))
    wait_for(lambda: phase_of(mock, "pr-1") == "Failed", what="pr-1 Failed")
    wait_for(lambda: stored_rules(mock) == [("pr-2.rule-1", "pr-2")], what="pr-2's filter")
    accepted = lane_status(mock, "pr-1")["conditions"][0]
    assert accepted["reason"] == "InvalidColouring"
    assert "value must be a number from 0 to 100" in accepted["message"]
    assert running.thread.is_alive()
    running.stop()


def test_the_filter_can_go_to_the_gateways_namespace() -> None:
    """With gateway_namespace the filter goes there, where Istio applies it to the gateway."""
    lane = coloured_lane("pr-1", [{"match": AGENT_PC}])
    envoy_filter = gateway_filter(plan(BASE, [lane], [], NOW, gateway_namespace="istio-system"))
    assert envoy_filter is not None
    assert envoy_filter["metadata"]["namespace"] == "istio-system"
    assert envoy_filter["metadata"]["name"] == "lanectx-colouring-shop"
    assert envoy_filter["spec"]["workloadSelector"] == {"labels": {"istio": "ingressgateway"}}


def test_a_filter_in_the_gateway_namespace_is_pruned_but_not_anothers(
    mock: KubeMock, start_controller: Callable[..., Running]
) -> None:
    """In istio-system the controller prunes its own filter only, never another namespace's."""
    other = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {
            "name": "lanectx-colouring-shop2",
            "labels": {MANAGED_BY: MANAGER, "lanectx.dev/lanes-namespace": "shop2"},
        },
        "spec": {"configPatches": []},
    }
    mock.put("apis/networking.istio.io/v1alpha3/envoyfilters", "istio-system", other)
    running = start_controller(gateway_namespace="istio-system")
    put_lane(mock, new_lane("pr-1", [{"name": "qa", "match": AGENT_PC}]))
    wait_for(lambda: stored_rules(mock, "istio-system") == [("pr-1.qa", "pr-1")], what="the filter")
    assert not mock.objects("envoyfilters", NAMESPACE)
    delete_lane(mock, "pr-1")
    wait_for(lambda: stored_rules(mock, "istio-system") == [], what="the prune")
    assert set(mock.objects("envoyfilters", "istio-system")) == {"lanectx-colouring-shop2"}
    running.stop()


def test_unchanged_rules_are_not_parsed_again_each_round(caplog: pytest.LogCaptureFixture) -> None:
    """An unverified jwt rule warns once, not in every round, while its text stays the same."""
    rules = [{"match": {"jwt": {"claim": "once-per-text", "exact": "beta"}}}]
    lane = coloured_lane("pr-1", rules)
    with caplog.at_level("WARNING", logger="lanectx"):
        for minutes in range(3):
            plan(BASE, [lane], [], NOW + timedelta(minutes=minutes))
    warnings = [record for record in caplog.records if "once-per-text" in record.getMessage()]
    assert len(warnings) == 1


def test_a_restarted_controller_keeps_the_filter_and_is_silent(
    mock: KubeMock,
    start_controller: Callable[..., Running],
    make_controller: Callable[..., LaneController],
) -> None:
    """After a restart the same filter, no status write, no Event, a conflict still reported."""
    running = start_controller()
    put_lane(mock, new_lane("pr-1", [{"name": "qa", "match": AGENT_PC}]))
    wait_for(lambda: stored_coloured(mock, "pr-1") == ("True", "RulesApplied"), what="pr-1")
    time.sleep(1.1)  # a later creation time for pr-2
    put_lane(mock, new_lane("pr-2", [{"name": "qa", "match": AGENT_PC}]))
    wait_for(lambda: stored_coloured(mock, "pr-2") == ("False", "ColouringConflict"), what="pr-2")
    mark_ready(mock, "reviews-pr-1")
    mark_ready(mock, "reviews-pr-2")
    wait_for(lambda: phase_of(mock, "pr-1") == phase_of(mock, "pr-2") == "Ready", what="Ready")
    wait_for(lambda: "ColouringConflict" in event_reasons(mock, "pr-2"), what="the Event")
    wait_for(lambda: event_reasons(mock, "pr-2")[-1] == "Ready", what="the Ready Event")
    running.stop()
    stored = mock.objects("envoyfilters", NAMESPACE)["lanectx-colouring-shop"]["spec"]
    events, requests = len(mock.objects("events")), len(mock.requests)
    make_controller().reconcile()
    fresh = mock.requests[requests:]
    assert not [entry for entry in fresh if entry[1].endswith("/status")]
    assert not [entry for entry in fresh if entry[0] in ("POST", "DELETE")]
    assert len(mock.objects("events")) == events
    assert mock.objects("envoyfilters", NAMESPACE)["lanectx-colouring-shop"]["spec"] == stored
