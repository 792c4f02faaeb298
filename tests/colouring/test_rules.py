"""Colouring rules: every matcher, rule order, pluggable matchers, invalid rules files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanectx.colouring import (
    HeaderMatcher,
    Request,
    Rule,
    Rules,
    RulesError,
    TextMatch,
    load_rules,
    parse_rules,
    register_matcher,
)


def _rules(*match: dict[str, Any]) -> Rules:
    return parse_rules({"rules": [{"match": item, "lane": "pr-1"} for item in match]})


def _request(headers: list[tuple[str, str]] = (), query: str = "") -> Request:  # type: ignore[assignment]
    return Request(headers, query)


MATCHER_CASES = [
    # (match, headers, query, expected)
    ({"header": {"name": "agent", "exact": "pc"}}, [("agent", "pc")], "", True),
    ({"header": {"name": "Agent", "exact": "pc"}}, [("agent", "pc")], "", True),
    ({"header": {"name": "agent", "exact": "pc"}}, [("agent", "PC")], "", False),
    ({"header": {"name": "agent", "exact": "pc"}}, [("agent", "x"), ("agent", "pc")], "", True),
    ({"header": {"name": "agent", "exact": "pc"}}, [], "", False),
    ({"header": {"name": "agent", "prefix": "pc"}}, [("agent", "pc-7")], "", True),
    ({"header": {"name": "agent", "prefix": "pc"}}, [("agent", "mac")], "", False),
    ({"header": {"name": "agent", "suffix": "/7"}}, [("agent", "pc/7")], "", True),
    ({"header": {"name": "agent", "regex": "pc-[0-9]+"}}, [("agent", "pc-12")], "", True),
    ({"header": {"name": "agent", "regex": "pc-[0-9]+"}}, [("agent", "pc-12x")], "", False),
    ({"cookie": {"name": "tier", "exact": "beta"}}, [("cookie", "a=1; tier=beta")], "", True),
    (
        {"cookie": {"name": "tier", "exact": "beta"}},
        [("cookie", "a=1"), ("cookie", "tier=beta")],
        "",
        True,
    ),
    ({"cookie": {"name": "tier", "exact": "beta"}}, [("cookie", "Tier=beta")], "", False),
    (
        {"cookie": {"name": "tier", "exact": "beta"}},
        [("cookie", "tier=gold; tier=beta")],
        "",
        False,
    ),
    ({"cookie": {"name": "tier", "prefix": "be"}}, [("cookie", "tier=beta")], "", True),
    ({"query": {"name": "lane-test", "exact": "yes"}}, [], "a=1&lane-test=yes", True),
    ({"query": {"name": "q", "exact": "a b"}}, [], "q=a+b", True),
    ({"query": {"name": "q", "exact": "x"}}, [], "q=y", False),
    ({"host": {"exact": "aaa.com"}}, [("host", "aaa.com")], "", True),
    ({"host": {"exact": "aaa.com"}}, [("host", "AAA.com:8443")], "", True),
    ({"host": {"exact": "AAA.COM"}}, [("host", "aaa.com")], "", True),
    ({"host": {"exact": "aaa.com"}}, [("host", "bbb.com")], "", False),
    ({"host": {"suffix": ".aaa.com"}}, [("host", "cb.aaa.com")], "", True),
    ({"host": {"regex": r"cb[0-9]\.aaa\.com"}}, [("host", "cb1.aaa.com")], "", True),
    ({"host": {"exact": "aaa.com"}}, [], "", False),
    ({"percent": {"of": {"header": "x-user-id"}, "value": 100}}, [("x-user-id", "u")], "", True),
    ({"percent": {"of": {"header": "x-user-id"}, "value": 0}}, [("x-user-id", "u")], "", False),
    ({"percent": {"of": {"header": "x-user-id"}, "value": 100}}, [], "", False),
    ({"percent": {"of": {"cookie": "uid"}, "value": 100}}, [("cookie", "uid=9")], "", True),
    ({"percent": {"of": {"cookie": "uid"}, "value": 100}}, [("cookie", "other=9")], "", False),
    (
        {"header": {"name": "agent", "exact": "pc"}, "host": {"exact": "aaa.com"}},
        [("agent", "pc"), ("host", "bbb.com")],
        "",
        False,
    ),
    (
        {"header": {"name": "agent", "exact": "pc"}, "host": {"exact": "aaa.com"}},
        [("agent", "pc"), ("host", "aaa.com")],
        "",
        True,
    ),
]


@pytest.mark.parametrize(("match", "headers", "query", "expected"), MATCHER_CASES)
def test_matchers(
    match: dict[str, Any], headers: list[tuple[str, str]], query: str, expected: bool
) -> None:
    """Each built-in matcher matches exactly the requests its options describe."""
    rule = _rules(match).colour(_request(headers, query))
    assert (rule is not None) is expected


def test_first_matching_rule_wins() -> None:
    """Rules are tried in order; the first that matches gives the lane."""
    rules = parse_rules(
        {
            "rules": [
                {"name": "a", "match": {"header": {"name": "x", "exact": "1"}}, "lane": "pr-1"},
                {"name": "b", "match": {"header": {"name": "y", "exact": "1"}}, "lane": "pr-2"},
                {"name": "c", "match": {"header": {"name": "x", "prefix": ""}}, "lane": "pr-3"},
            ]
        }
    )
    assert rules.colour(_request([("x", "1"), ("y", "1")])).name == "a"  # type: ignore[union-attr]
    assert rules.colour(_request([("x", "2"), ("y", "1")])).name == "b"  # type: ignore[union-attr]
    assert rules.colour(_request([("x", "2")])).lane == "pr-3"  # type: ignore[union-attr]
    assert rules.colour(_request([("z", "2")])) is None


def test_unnamed_rules_are_numbered() -> None:
    """A rule without a name is called rule-<position>."""
    rules = _rules({"host": {"exact": "a"}}, {"host": {"exact": "b"}})
    assert [rule.name for rule in rules] == ["rule-1", "rule-2"]


def test_rules_built_in_python_take_any_callable() -> None:
    """A matcher is any callable taking a Request; rules can be built without a file."""
    rules = Rules(
        [
            Rule("night", "pr-9", lambda request: request.header("x-shift") == ["night"]),
            Rule("qa", "pr-42", HeaderMatcher("agent", TextMatch("exact", "pc"))),
        ]
    )
    assert rules.colour(_request([("x-shift", "night"), ("agent", "pc")])).lane == "pr-9"  # type: ignore[union-attr]
    assert rules.colour(_request([("agent", "pc")])).lane == "pr-42"  # type: ignore[union-attr]


def test_registered_matcher_kind_is_usable_in_files() -> None:
    """register_matcher makes a new kind available to rules files, with its options."""

    def method(options: Any) -> Any:
        if not isinstance(options, str):
            raise ValueError("expected an HTTP method")
        return lambda request: request.header(":method") == [options]

    register_matcher("test_method", method)
    rules = parse_rules({"rules": [{"match": {"test_method": "PUT"}, "lane": "pr-5"}]})
    assert rules.colour(_request([(":method", "PUT")])) is not None
    assert rules.colour(_request([(":method", "GET")])) is None
    with pytest.raises(RulesError, match=r"rule 1 \(rule-1\): test_method: expected an HTTP"):
        parse_rules({"rules": [{"match": {"test_method": 3}, "lane": "pr-5"}]})


BAD_FILES = [
    ("rules: [", "rules.yaml: line 1: expected the node content"),
    ("lanes: []", "rules.yaml: expected a mapping with one key, 'rules'"),
    ("rules: {}", "rules.yaml: 'rules' must be a list"),
    ("rules: [3]", "rules.yaml: rule 1: expected a mapping with match and lane"),
    (
        "rules:\n- {name: qa, match: {header: {name: a, exact: b}}, lane: pr-1}\n"
        "- {name: callback, match: {hots: {exact: aaa.com}}, lane: release-aaa}",
        "rules.yaml: rule 2 (callback): unknown matcher 'hots' "
        "(known: cookie, header, host, jwt, percent, query",
    ),
    ("rules:\n- {match: {host: {exact: a}}}", "rules.yaml: rule 1 (rule-1): missing 'lane'"),
    ("rules:\n- {lane: pr-1}", "rules.yaml: rule 1 (rule-1): missing 'match'"),
    (
        "rules:\n- {match: {host: {exact: a}}, lane: PR_1}",
        "rules.yaml: rule 1 (rule-1): lane 'PR_1' is not a lane id",
    ),
    (
        "rules:\n- {match: {host: {exact: a}}, lane: pr-1, when: now}",
        "rules.yaml: rule 1 (rule-1): unknown key 'when'",
    ),
    ("rules:\n- {match: {}, lane: pr-1}", "rules.yaml: rule 1 (rule-1): match must be a mapping"),
    (
        "rules:\n- {match: {header: {name: a}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): header: give exactly one of exact, prefix",
    ),
    (
        "rules:\n- {match: {header: {name: a, exact: b, prefix: c}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): header: give exactly one of",
    ),
    (
        "rules:\n- {match: {header: {name: 'a b', exact: b}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): header: name must be a name of token characters",
    ),
    (
        "rules:\n- {match: {header: {name: a, regex: '('}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): header: bad regex '('",
    ),
    (
        "rules:\n- {match: {host: {exact: 7}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): host: exact must be a string",
    ),
    (
        "rules:\n- {match: {percent: {of: {header: u}, value: 101}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): percent: value must be a number from 0 to 100",
    ),
    (
        "rules:\n- {match: {percent: {of: {header: u}, value: 1.234}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): percent: value 1.234 has more than two decimals",
    ),
    (
        "rules:\n- {match: {percent: {of: {header: u, cookie: c}, value: 5}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): percent: 'of' must name exactly one",
    ),
    (
        "rules:\n- {match: {percent: {value: 5}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): percent: missing option 'of'",
    ),
    (
        "rules:\n- {match: {jwt: {claim: sub, exact: a, audience: x}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): jwt: audience needs key_file or secret_env",
    ),
    (
        "rules:\n- {match: {jwt: {claim: sub, exact: a, key_file: /nonexistent.pem}}, lane: pr-1}",
        "rules.yaml: rule 1 (rule-1): jwt: key_file '/nonexistent.pem': No such file",
    ),
    (
        "rules:\n- {name: a, match: {host: {exact: a}}, lane: pr-1}\n"
        "- {name: a, match: {host: {exact: b}}, lane: pr-2}",
        "rules.yaml: rule 2 (a): duplicate rule name",
    ),
    (
        "rules:\n- {name: 'a b', match: {host: {exact: a}}, lane: pr-1}",
        "rules.yaml: rule 1: name 'a b': use letters, digits",
    ),
    ("rules: []\nrules: []", "rules.yaml: line 2: duplicate key 'rules'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_invalid_rules_files_give_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    """Each invalid rules file raises RulesError with one line naming file, rule and problem."""
    pytest.importorskip("yaml")
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(message), str(info.value)


def test_example_rules_file_loads() -> None:
    """The shipped example rules file is valid and colours the three seed cases."""
    pytest.importorskip("yaml")
    path = Path(__file__).resolve().parents[2] / "examples" / "colouring" / "colouring.yaml"
    rules = load_rules(path)
    assert rules.colour(_request([("agent", "pc")])).lane == "pr-42"  # type: ignore[union-attr]
    assert rules.colour(_request([("host", "aaa.com")])).lane == "release-aaa"  # type: ignore[union-attr]
    assert [rule.name for rule in rules] == ["qa-team", "callback", "five-percent"]
