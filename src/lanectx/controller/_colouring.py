"""The colouring rules of Lanes: checked one Lane at a time, rendered for all Lanes together.

    rules = lane_rules(lane)                 # raises RulesError with a one-line message
    result = colour_lanes([(lane_a, rules_a), (lane_b, rules_b)], namespace="shop")
    result.objects                           # the one ingress-gateway EnvoyFilter, or ()
    result.outcomes["pr-2"]                  # Outcome(False, "ColouringConflict", "rule ...")

A Lane's rules are the rules of a colouring rules file without ``lane`` (it is the Lane's
name), parsed by `lanectx.colouring.parse_rules`. Each rule is named ``<lane>.<name>`` at
the gateway. The Lanes come in the order given (the reconcile sorts them by creation time,
then name); the first matching rule wins, so a rule that an earlier Lane's rule always
takes first is a conflict: it is left out and reported on the later Lane.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lanectx._config import LaneConfig
from lanectx.colouring import PercentMatcher, Rule, Rules, RulesError, parse_rules
from lanectx.routing import gateway_unsupported, render_colouring

from ._lanes import Manifest

__all__ = ["LANES_NAMESPACE", "Colouring", "Outcome", "colour_lanes", "filter_name", "lane_rules"]

LANES_NAMESPACE = "lanectx.dev/lanes-namespace"  # label: whose Lanes a colouring filter holds
# Options that name files or variables of the process that runs the rule: not for Lanes.
_LOCAL_OPTIONS = ("key_file", "secret_env", "algorithms", "audience", "issuer")


@dataclass(frozen=True)
class Outcome:
    """How a Lane's rules fared: the ``Coloured`` condition's status, reason and message."""

    ok: bool
    reason: str
    message: str


@dataclass(frozen=True)
class Colouring:
    """The gateway colouring of a round: its objects, and the outcome of each Lane."""

    objects: tuple[Manifest, ...]
    outcomes: Mapping[str, Outcome]


def lane_rules(lane: Mapping[str, Any]) -> Rules | None:
    """Return the colouring rules of Lane *lane*; None when its spec has none.

    Raises `RulesError` (one line, naming ``spec.colouring``) for malformed rules. Valid
    rules are remembered by their text, so a round does not parse (and warn about) the
    unchanged rules of every Lane again.
    """
    name = str(lane["metadata"]["name"])
    spec = lane.get("spec")
    raw = spec.get("colouring") if isinstance(spec, Mapping) else None
    if raw is None:
        return None
    try:
        text = json.dumps(raw, sort_keys=True)
    except (TypeError, ValueError):  # not JSON: not from the API server, parse as it is
        return _parse(name, raw)
    return _parse_text(name, text)


@functools.lru_cache(maxsize=1024)
def _parse_text(name: str, text: str) -> Rules:
    return _parse(name, json.loads(text))


def _parse(name: str, raw: object) -> Rules:
    """Return the rules of Lane *name* from its ``spec.colouring`` *raw*."""
    where = "spec.colouring"
    if not isinstance(raw, list):
        raise RulesError(f"{where} must be a list of rules")
    items = []
    for index, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise RulesError(f"{where}: rule {index}: expected a mapping with match")
        if "lane" in item:
            raise RulesError(f"{where}: rule {index}: no 'lane' here: the lane is the Lane's name")
        match = item.get("match")
        jwt = match.get("jwt") if isinstance(match, Mapping) else None
        local = [key for key in _LOCAL_OPTIONS if isinstance(jwt, Mapping) and key in jwt]
        if local:
            raise RulesError(
                f"{where}: rule {index}: jwt: {local[0]!r} names a file or variable of the "
                "edge process; a Lane can only match claims the ingress has verified"
            )
        rule_name = item.get("name", f"rule-{index}")
        if isinstance(rule_name, str):
            rule_name = f"{name}.{rule_name}"
        items.append({**item, "name": rule_name, "lane": name})
    return parse_rules({"rules": items}, where)


def _covers(first: object, later: object) -> bool:
    """Whether every request *later* matches is matched by *first* too."""
    if isinstance(first, PercentMatcher) and isinstance(later, PercentMatcher):
        users = (first.source, first.name, first.seed) == (later.source, later.name, later.seed)
        return users and first.threshold >= later.threshold
    return first == later


def _shadowing(earlier: Rule, later: Rule) -> bool:
    """Whether *earlier* (first in order) takes every request *later* would colour."""
    return all(any(_covers(mine, theirs) for theirs in later.matchers) for mine in earlier.matchers)


def _bucket(matcher: object) -> object:
    """What a matcher covering *matcher* has in common with it: the key of an index."""
    if isinstance(matcher, PercentMatcher):
        return ("percent", matcher.source, matcher.name, matcher.seed)
    try:
        hash(matcher)
    except TypeError:  # an unhashable matcher of one's own kind: only itself covers it
        return id(matcher)
    return matcher


class _Taken:
    """The rules in the filter so far, indexed by their first matcher (no quadratic scan)."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self._index: dict[object, list[int]] = {}

    def add(self, rule: Rule) -> None:
        self._index.setdefault(_bucket(rule.matchers[0]), []).append(len(self.rules))
        self.rules.append(rule)

    def rival(self, rule: Rule) -> Rule | None:
        """Return the first rule of another lane that takes every request *rule* matches."""
        found = {at for item in rule.matchers for at in self._index.get(_bucket(item), ())}
        for at in sorted(found):
            old = self.rules[at]
            if old.lane != rule.lane and _shadowing(old, rule):
                return old
        return None


def filter_name(namespace: str) -> str:
    """Return the name of the colouring EnvoyFilter of the Lanes of *namespace*."""
    return f"lanectx-colouring-{namespace}"


def colour_lanes(
    lanes: Sequence[tuple[str, Rules]],
    namespace: str,
    config: LaneConfig | None = None,
    gateway_namespace: str | None = None,
) -> Colouring:
    """Return the one gateway EnvoyFilter for the rules of *lanes* (of *namespace*), in order.

    The filter goes into *gateway_namespace* (default: *namespace*): Istio applies an
    EnvoyFilter to the workloads of its own namespace only, or to all from the root
    namespace. A rule shadowed by an earlier Lane's rule, or one the gateway cannot run,
    is left out and reported on its Lane with a ``Coloured=False`` outcome.
    """
    kept = _Taken()
    outcomes: dict[str, Outcome] = {}
    for lane, rules in lanes:
        problems: list[tuple[str, str]] = []
        unsupported = set(gateway_unsupported(rules))
        for rule in rules:
            rival = kept.rival(rule)
            if rival is not None:
                why = f"rule {rule.name} never applies: rule {rival.name} of Lane {rival.lane} "
                problems.append(("ColouringConflict", why + "comes first and matches the same"))
            elif rule.name in unsupported:
                why = f"rule {rule.name} is not run: the gateway runs no query, jwt or regex"
                problems.append(("NotAtGateway", why))
            else:
                kept.add(rule)
        if problems:
            reason = problems[0][0]
            outcomes[lane] = Outcome(False, reason, "; ".join(text for _, text in problems))
        else:
            outcomes[lane] = Outcome(True, "RulesApplied", f"{len(rules)} rule(s) at the gateway")
    if not kept.rules:
        return Colouring((), outcomes)
    (envoy_filter,) = render_colouring(
        Rules(kept.rules),
        config,
        namespace=gateway_namespace or namespace,
        name=filter_name(namespace),
    )
    envoy_filter["metadata"]["labels"] = {LANES_NAMESPACE: namespace}
    return Colouring((envoy_filter,), outcomes)
