"""Colouring at the edge: choose the lane of a request that has none, by ordered rules.

Rules match on headers, cookies, query parameters, the host, JWT claims or a stable
percentage of users; the first matching rule's lane is given to the request, unless
the request already carries a valid lane. Only the edge service colours::

    from lanectx.colouring import ColouringMiddleware
    app = ColouringMiddleware(app, "colouring.yaml", edge=True)

``lanectx render colouring RULES`` writes the same rules as an Istio EnvoyFilter (Lua)
for the ingress gateway. See docs/colouring.md.
"""

from __future__ import annotations

from ._edge import RULE_ATTRIBUTE, edge_from_env
from ._hash import bucket, fnv1a_32
from ._matchers import (
    CookieMatcher,
    HeaderMatcher,
    HostMatcher,
    Matcher,
    PercentMatcher,
    QueryMatcher,
    TextMatch,
    register_matcher,
)
from ._middleware import STATE_KEY, ColouringMiddleware, WSGIColouringMiddleware
from ._request import Request
from ._rules import Rule, Rules, RulesError, load_rules, parse_rules

__all__ = [
    "RULE_ATTRIBUTE",
    "STATE_KEY",
    "ColouringMiddleware",
    "CookieMatcher",
    "HeaderMatcher",
    "HostMatcher",
    "Matcher",
    "PercentMatcher",
    "QueryMatcher",
    "Request",
    "Rule",
    "Rules",
    "RulesError",
    "TextMatch",
    "WSGIColouringMiddleware",
    "bucket",
    "edge_from_env",
    "fnv1a_32",
    "load_rules",
    "parse_rules",
    "register_matcher",
]
