"""The built-in matchers of colouring rules, and the registry of matcher kinds.

A matcher is any callable ``(Request) -> bool``. A matcher *kind* turns the options
written in a rules file into a matcher; add your own with `register_matcher`::

    def weekday(options):            # match: {weekday: {lane_on: mon}}
        return lambda request: ...
    register_matcher("weekday", weekday)

Factories raise `ValueError` with a one-line message for bad options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._hash import in_percent
from ._jwt import jwt_matcher
from ._request import Request
from ._text import TEXT_OPS, Matcher, MatcherFactory, TextMatch, options_of, token_name

__all__ = [
    "CookieMatcher",
    "HeaderMatcher",
    "HostMatcher",
    "Matcher",
    "MatcherFactory",
    "PercentMatcher",
    "QueryMatcher",
    "TextMatch",
    "matcher_kinds",
    "options_of",
    "register_matcher",
]


@dataclass(frozen=True)
class HeaderMatcher:
    """Match when any value of header *name* matches *text*."""

    name: str
    text: TextMatch

    def __call__(self, request: Request) -> bool:
        """Return True when the request has a matching value."""
        return any(self.text(value) for value in request.header(self.name))


@dataclass(frozen=True)
class CookieMatcher:
    """Match when cookie *name* is present and matches *text*."""

    name: str
    text: TextMatch

    def __call__(self, request: Request) -> bool:
        """Return True when the request's cookie matches."""
        value = request.cookie(self.name)
        return value is not None and self.text(value)


@dataclass(frozen=True)
class QueryMatcher:
    """Match when any value of query parameter *name* matches *text*."""

    name: str
    text: TextMatch

    def __call__(self, request: Request) -> bool:
        """Return True when the request has a matching parameter value."""
        return any(self.text(value) for value in request.query(self.name))


@dataclass(frozen=True)
class HostMatcher:
    """Match the request's host (lowercase, port removed) against *text*."""

    text: TextMatch

    def __call__(self, request: Request) -> bool:
        """Return True when the host matches."""
        host = request.host
        return host is not None and self.text(host)


@dataclass(frozen=True)
class PercentMatcher:
    """Match a stable *threshold* out of 10000 buckets of a hashed header or cookie value.

    The key is ``seed + value`` as bytes; a request without the value never matches.
    """

    source: str
    name: str
    threshold: int
    seed: str = ""

    def __call__(self, request: Request) -> bool:
        """Return True when the request's key falls in the first *threshold* buckets."""
        if self.source == "cookie":
            value = request.cookie(self.name)
        else:
            values = request.header(self.name)
            value = values[0] if values else None
        if not value:
            return False
        return in_percent((self.seed + value).encode("latin-1"), self.threshold)


def _text_factory(kind: type[HeaderMatcher | CookieMatcher | QueryMatcher]) -> MatcherFactory:
    def factory(options: Any) -> Matcher:
        opts = options_of(options, ("name",), TEXT_OPS)
        name = token_name(opts["name"], lower=kind is HeaderMatcher)
        return kind(name, TextMatch.parse(opts))

    return factory


def _host(options: Any) -> Matcher:
    return HostMatcher(TextMatch.parse(options_of(options, (), TEXT_OPS), lower=True))


_SEED = re.compile(r"[A-Za-z0-9._:-]{0,64}")


def _percent(options: Any) -> Matcher:
    opts = options_of(options, ("of", "value"), ("seed",))
    source = options_of(opts["of"], (), ("header", "cookie"))
    if len(source) != 1:
        raise ValueError("'of' must name exactly one of header or cookie")
    ((where, name),) = source.items()
    value = opts["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ValueError(f"value must be a number from 0 to 100, got {value!r}")
    if abs(value * 100 - round(value * 100)) > 1e-6:
        raise ValueError(f"value {value!r} has more than two decimals")
    seed = opts.get("seed", "")
    if not isinstance(seed, str) or not _SEED.fullmatch(seed):
        raise ValueError(f"seed must be up to 64 of A-Z a-z 0-9 . _ : -, got {seed!r}")
    key = token_name(name, where, lower=where == "header")
    return PercentMatcher(where, key, round(value * 100), seed)


_KINDS: dict[str, MatcherFactory] = {
    "header": _text_factory(HeaderMatcher),
    "cookie": _text_factory(CookieMatcher),
    "query": _text_factory(QueryMatcher),
    "host": _host,
    "percent": _percent,
    "jwt": jwt_matcher,
}


def register_matcher(kind: str, factory: MatcherFactory) -> None:
    """Make ``match: {<kind>: <options>}`` in rules files call ``factory(options)``."""
    if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"matcher kind must be a lowercase identifier, got {kind!r}")
    _KINDS[kind] = factory


def matcher_kinds() -> dict[str, MatcherFactory]:
    """Return the registered matcher kinds (a copy)."""
    return dict(_KINDS)
