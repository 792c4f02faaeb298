"""W3C baggage: find, drop and add the lane member, and read every member, within W3C limits.

Lists are split on ``,``; optional whitespace around ``=``, ``,`` and ``;`` is
ignored; properties after the first ``;`` are ignored; several headers are read as
one list. A name inside a property (``a=1;lane=pr-7``) is not a member name. Names
and values are decoded as OpenTelemetry's W3C propagator decodes them
(``%6Cane`` and ``+lane`` are ``lane``), so both always agree on which member is
the lane::

    list(member_values(["a=1, lane = pr-7 ;p=1"], "lane"))  # ['pr-7']

Reading stops at the W3C limits: `MAX_MEMBERS` members, `MAX_BYTES` bytes, and the
first `MAX_HEADERS` headers; whatever lies beyond is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from urllib.parse import quote, unquote_plus

__all__ = [
    "MAX_BYTES",
    "MAX_HEADERS",
    "MAX_MEMBERS",
    "encode_members",
    "fitting",
    "member_values",
    "members",
    "names",
    "with_member",
    "without_member",
]

MAX_MEMBERS = 180
"""List members read from one request (W3C: at least 180 must be propagated)."""
MAX_BYTES = 8192
"""Bytes of baggage read from one request (W3C: at least 8192 must be propagated)."""
MAX_HEADERS = 8
"""``baggage`` headers read from one request; an honest caller sends one."""

_OWS = " \t"
_KEY = re.compile(r"[!#-'*+\-.0-9A-Z^-z|~]+")
_VALUE = r"[!#-+\--:<-\[\]-~]*"
_PROPERTY = rf"[{_OWS}]*{_KEY.pattern}[{_OWS}]*(?:=[{_OWS}]*{_VALUE}[{_OWS}]*)?"
_WITH_PROPERTIES = re.compile(rf"{_VALUE}(?:[{_OWS}]*(?:;{_PROPERTY})+)?")
_KEY_SAFE = "!#$&'*-.^_`|~"
_VALUE_SAFE = "!#$&'()*-./:<=>?@[]^_`{|}~"


def _decoded(text: str) -> str:
    """*text* as OpenTelemetry decodes a baggage name or value (``+`` is a space)."""
    return unquote_plus(text).strip() if "%" in text or "+" in text else text


def _split(member: str) -> tuple[str, str]:
    """Return (decoded name, raw value) of one list member, properties removed."""
    pair = member.split(";", 1)[0]
    name, sep, value = pair.partition("=")
    if not sep:
        return "", ""
    return _decoded(name.strip(_OWS)), value.strip(_OWS)


def _mentions(header: str, key: str) -> bool:
    return key in header or "%" in header or "+" in header


def _pieces(headers: Iterable[str], key: str | None = None) -> Iterator[str]:
    """Yield the raw list members of *headers*, up to the W3C limits.

    With *key*, headers that cannot hold a *key* member are not split (but still count).
    """
    budget = MAX_BYTES
    count = 0
    for header in islice(headers, MAX_HEADERS):
        if budget <= 0:
            return
        cut = len(header) > budget
        text = header[:budget]
        budget -= len(text) + 1
        if key is not None and not _mentions(text, key):
            continue
        parts = text.split(",")
        if cut:
            parts.pop()  # the last member does not fit whole: it is not read
        for part in parts:
            if not part.strip(_OWS):
                continue
            count += 1
            if count > MAX_MEMBERS:
                return
            yield part


def member_values(headers: Iterable[str], key: str) -> Iterator[str]:
    """Yield the decoded value of every *key* member in *headers*, in order."""
    for part in _pieces(headers, key):
        name, value = _split(part)
        if name == key:
            yield _decoded(value)


def members(headers: Iterable[str], skip: str) -> dict[str, str]:
    """Return every valid member but *skip*, decoded as OpenTelemetry's propagator does.

    A value keeps its properties (``a=1;p=2`` is ``a`` = ``1;p=2``); a later member of
    the same name replaces an earlier one; a member that is not W3C baggage is left out.
    """
    found: dict[str, str] = {}
    for part in _pieces(headers):
        name, sep, value = part.partition("=")
        name = name.strip(_OWS)
        value = value.strip(_OWS)
        if not sep or not _KEY.fullmatch(name) or not _WITH_PROPERTIES.fullmatch(value):
            continue
        name = _decoded(name)
        if name and name != skip:
            found[name] = _decoded(value)
    return found


def _encode(text: str, plain: re.Pattern[str], safe: str) -> str:
    if plain.fullmatch(text) and "%" not in text and "+" not in text:
        return text
    return quote(text, safe=safe)


def encode_members(entries: Mapping[str, object], skip: str, taken: Iterable[str] = ()) -> str:
    """Return *entries* (but *skip* and the names in *taken*) as one baggage list.

    Names and values that are already valid baggage go as they are, so a member that
    arrived as ``a=1;p=2`` leaves as ``a=1;p=2``; anything else is percent-encoded.
    """
    left_out = {skip, *taken}
    return ",".join(
        _encode(name, _KEY, _KEY_SAFE) + "=" + _encode(str(value), _WITH_PROPERTIES, _VALUE_SAFE)
        for name, value in islice(entries.items(), MAX_MEMBERS)
        if name not in left_out
    )


def names(header: str) -> set[str]:
    """The decoded member names of one baggage *header*."""
    return {_split(part)[0] for part in _pieces((header,))}


def without_member(header: str, key: str) -> str:
    """Return *header* without its *key* members; other members are kept as sent."""
    if not _mentions(header, key):
        return header
    kept = [m.strip(_OWS) for m in header.split(",") if _split(m)[0] != key]
    return ",".join(m for m in kept if m)


def fitting(header: str, room: int, members: int = MAX_MEMBERS) -> str:
    """Return the first members of *header* that fit in *room* bytes and *members* members.

    Receivers stop reading at the W3C limits (OpenTelemetry drops a longer header
    whole), so a member added after them must leave room for itself.
    """
    if len(header) <= room and header.count(",") < members:
        return header
    kept: list[str] = []
    size = -1
    for part in header.split(",")[:members]:
        size += len(part) + 1
        if size > room:
            break
        kept.append(part)
    return ",".join(kept)


def with_member(header: str | None, key: str, value: str) -> str:
    """Return *header* with exactly one *key* member, set to *value*, within W3C limits."""
    member = f"{key}={value}"
    rest = without_member(header, key) if header else ""
    if rest:
        rest = fitting(rest, MAX_BYTES - len(member) - 1, MAX_MEMBERS - 1)
    return f"{rest},{member}" if rest else member
