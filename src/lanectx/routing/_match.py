"""The request matches that send a request to a lane, independent of the mesh API.

A lane is matched by the lane header (exact), for ``pr-<n>`` lanes by the PR header
(``<n>`` or ``pr-<n>``, exact), and by a ``baggage`` regex anchored on W3C member
boundaries. Regexes are RE2 and full-match (as Envoy's ``safe_regex``)::

    baggage_regex("lane", "pr-3")
    # '(?:.*,)?[ \\t]*lane[ \\t]*=[ \\t]*pr-3[ \\t]*(?:[;,].*)?'
"""

from __future__ import annotations

from dataclasses import dataclass

from ._model import Headers

__all__ = ["SOURCES", "HeaderMatch", "any_member_regex", "baggage_regex", "lane_matches"]

SOURCES = ("header", "pr", "baggage")
_OWS = "[ \\t]*"


@dataclass(frozen=True)
class HeaderMatch:
    """One header condition: *kind* is ``exact`` or ``regex`` (RE2, full match)."""

    header: str
    kind: str
    value: str


def baggage_regex(key: str, lane: str) -> str:
    """Return the regex matching a baggage list with member ``<key>=<lane>``.

    The member may sit anywhere in the list (several headers are joined with ``,``),
    with optional whitespace around ``=`` and properties after ``;``. A key inside a
    property (``a=1;lane=x``) or with a prefix (``xlane=x``) does not match, nor does a
    longer value (``lane=pr-31`` for lane ``pr-3``). *key* and *lane* are DNS labels,
    so they carry no regex metacharacter.
    """
    return f"(?:.*,)?{_OWS}{key}{_OWS}={_OWS}{lane}{_OWS}(?:[;,].*)?"


def any_member_regex(key: str) -> str:
    """Return a regex matching every baggage list that may hold a *key* member.

    A superset of every `baggage_regex` for *key*: lists it does not match surely name
    no lane, which is what the stable fast path relies on.
    """
    return f"(?:.*,)?{_OWS}{key}{_OWS}=.*"


def lane_matches(lane: str, headers: Headers) -> dict[str, tuple[HeaderMatch, ...]]:
    """Return the matches selecting *lane*, keyed by source (`SOURCES` order).

    Any one match selects the lane; a source without matches (the PR header for a lane
    that is no ``pr-<n>``) is left out.
    """
    matches: dict[str, tuple[HeaderMatch, ...]] = {
        "header": (HeaderMatch(headers.lane, "exact", lane),)
    }
    number = lane.removeprefix(headers.pr_prefix)
    if number != lane and number.isdigit():
        matches["pr"] = (
            HeaderMatch(headers.pr, "exact", number),
            HeaderMatch(headers.pr, "exact", lane),
        )
    matches["baggage"] = (
        HeaderMatch("baggage", "regex", baggage_regex(headers.baggage_key, lane)),
    )
    return matches
