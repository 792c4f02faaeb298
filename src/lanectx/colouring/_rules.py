"""Colouring rules: an ordered list of ``match -> lane``; the first match wins.

From a rules file, or built in Python (a matcher is any ``(Request) -> bool``)::

    rules = load_rules("colouring.yaml")
    rules = Rules([Rule("qa", "pr-42", HeaderMatcher("agent", TextMatch("exact", "pc")))])
    rules.colour(Request([("agent", "pc")]))   # Rule(name='qa', lane='pr-42', ...)

Every rule of a file is checked when it is loaded; each error is one line such as
``rules.yaml: rule 2 (callback): unknown matcher 'hots'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._lane import is_valid_lane
from ..exceptions import ConfigurationError
from ._matchers import Matcher, matcher_kinds
from ._request import Request

__all__ = ["Rule", "Rules", "RulesError", "load_rules", "parse_rules"]

_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


class RulesError(ConfigurationError):
    """A colouring rules file (or rule) is invalid; the message is one line."""


@dataclass(frozen=True)
class Rule:
    """Colour a request *lane* when every one of *matchers* matches it."""

    name: str
    lane: str
    matchers: tuple[Matcher, ...]

    def __init__(self, name: str, lane: str, *matchers: Matcher) -> None:
        if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
            raise RulesError(f"rule name {name!r}: use letters, digits, '.', '_', '-'")
        if not is_valid_lane(lane):
            raise RulesError(f"rule {name}: {lane!r} is not a lane id (a DNS label like 'pr-7')")
        if not matchers or not all(callable(matcher) for matcher in matchers):
            raise RulesError(f"rule {name}: give at least one matcher (a callable)")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "lane", lane)
        object.__setattr__(self, "matchers", matchers)

    def matches(self, request: Request) -> bool:
        """Return True when every matcher matches *request*."""
        return all(matcher(request) for matcher in self.matchers)


class Rules(Sequence[Rule]):
    """An ordered, immutable list of rules; `colour` returns the first that matches."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules = tuple(rules)
        names = [rule.name for rule in self._rules]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise RulesError(f"rule {index + 1} ({name}): duplicate rule name")

    def __getitem__(self, index: Any) -> Any:
        return self._rules[index]

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"Rules({list(self._rules)!r})"

    def colour(self, request: Request) -> Rule | None:
        """Return the first rule that matches *request*, or None."""
        for rule in self._rules:
            if rule.matches(request):
                return rule
        return None


def _rule(item: object, index: int, where: str) -> Rule:
    if not isinstance(item, Mapping):
        raise RulesError(f"{where}: rule {index}: expected a mapping with match and lane")
    name = item.get("name", f"rule-{index}")
    label = f"{where}: rule {index} ({name})"
    unknown = sorted(str(key) for key in item if key not in ("name", "match", "lane"))
    if unknown:
        raise RulesError(f"{label}: unknown key {unknown[0]!r} (allowed: name, match, lane)")
    for key in ("match", "lane"):
        if key not in item:
            raise RulesError(f"{label}: missing {key!r}")
    match = item["match"]
    if not isinstance(match, Mapping) or not match:
        raise RulesError(f"{label}: match must be a mapping of matcher kind to options")
    kinds = matcher_kinds()
    matchers = []
    for kind, options in match.items():
        if kind not in kinds:
            raise RulesError(
                f"{label}: unknown matcher {kind!r} (known: {', '.join(sorted(kinds))})"
            )
        try:
            matchers.append(kinds[kind](options))
        except (ValueError, TypeError) as err:
            message = " ".join(str(err).split())
            raise RulesError(f"{label}: {kind}: {message}") from None
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise RulesError(
            f"{where}: rule {index}: name {name!r}: use letters, digits, '.', '_', '-'"
        )
    if not is_valid_lane(item["lane"]):
        raise RulesError(
            f"{label}: lane {item['lane']!r} is not a lane id (a DNS label like 'pr-7')"
        )
    return Rule(name, item["lane"], *matchers)


def parse_rules(data: object, source: str = "rules") -> Rules:
    """Build `Rules` from parsed YAML/JSON *data* (``{rules: [...]}``); *source* names it."""
    if not isinstance(data, Mapping) or set(data) != {"rules"}:
        raise RulesError(f"{source}: expected a mapping with one key, 'rules'")
    items = data["rules"]
    if not isinstance(items, list):
        raise RulesError(f"{source}: 'rules' must be a list")
    rules = [_rule(item, index, source) for index, item in enumerate(items, 1)]
    try:
        return Rules(rules)
    except RulesError as err:
        raise RulesError(f"{source}: {err}") from None


def load_rules(path: str | Path) -> Rules:
    """Read and check a rules file (YAML; needs PyYAML)."""
    from ..routing._errors import SpecError
    from ..routing._yaml import load_yaml_text

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RulesError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = load_yaml_text(text, source=path.name)
    except SpecError as err:
        raise RulesError(str(err)) from None
    return parse_rules(data, path.name)
