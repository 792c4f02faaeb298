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
from codecs import escape_decode
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from itertools import islice
from urllib.parse import quote, unquote_plus

__all__ = [
    "MAX_BYTES",
    "MAX_CANDIDATES",
    "MAX_HEADERS",
    "MAX_MEMBERS",
    "capped",
    "encode_members",
    "fitting",
    "joined",
    "member_values",
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
    if "%" not in text:
        return text.replace("+", " ").strip() if "+" in text else text
    if text.isascii() and "\\" not in text:
        # unquote_plus, done by the C codec: %XX -> \xXX; same result for ASCII input.
        try:
            raw = escape_decode(text.replace("+", " ").replace("%", "\\x").encode("ascii"))[0]
            return raw.decode("utf-8", "replace").strip()
        except ValueError:  # a "%" without two hex digits after it
            pass
    return unquote_plus(text).strip()


def _split(member: str) -> tuple[str, str]:
    """Return (decoded name, raw value) of one list member, properties removed."""
    pair = member.split(";", 1)[0]
    name, sep, value = pair.partition("=")
    if not sep:
        return "", ""
    return _decoded(name.strip(_OWS)), value.strip(_OWS)


def joined(headers: Iterable[str]) -> str:
    """The first `MAX_HEADERS` baggage headers as one list (not yet cut to size)."""
    first = list(islice(headers, MAX_HEADERS))
    return first[0] if len(first) == 1 else ",".join(first)


def capped(headers: Iterable[str]) -> str:
    """The request's baggage headers as one list, cut to the W3C limits.

    The first `MAX_HEADERS` headers are read as one list; a member that does not fit
    whole in `MAX_BYTES` bytes is not read, nor is any after the `MAX_MEMBERS`-th.
    """
    text = joined(headers)
    if len(text) > MAX_BYTES:
        text = text[: max(text.rfind(",", 0, MAX_BYTES + 1), 0)]
    if text.count(",") >= MAX_MEMBERS:
        first_members = _FIRST_MEMBERS.match(text)
        if first_members is not None:
            text = text[: first_members.end() - 1]
    return text


_FIRST_MEMBERS = re.compile(rf"(?:[^,]*,){{{MAX_MEMBERS}}}")


MAX_CANDIDATES = 8
"""Members read as possible lanes, plain and encoded each; the rest of a list of
thousands of ``lane`` members is not looked at."""


@lru_cache(maxsize=16)
def _candidates(key: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns of members named *key* as sent, and of members with encoded names."""
    # Both start with a literal ``,`` (the list is searched with one put in front), so
    # the regex engine skips to the next comma instead of trying every position.
    value = rf"[{_OWS}]*=[{_OWS}]*([^,;]*)"
    plain = re.compile(rf",[{_OWS}]*{re.escape(key)}{value}")
    encoded = re.compile(rf",[{_OWS}]*([^=,;]*[%+][^=,;]*){value}")
    return plain, encoded


def member_values(headers: Iterable[str], key: str) -> Iterator[str]:
    """Yield the decoded value of the first *key* members in *headers*, in order.

    Names are decoded as OpenTelemetry decodes them, so ``%6Cane=pr-7`` is a ``lane``
    member; at most `MAX_CANDIDATES` plain and as many encoded names are looked at.
    """
    text = "," + capped(headers)
    plain, encoded = _candidates(key)
    found: list[tuple[int, str]] = []
    if key in text:
        found += [(m.start(), m.group(1)) for m in islice(plain.finditer(text), MAX_CANDIDATES)]
    if "%" in text or "+" in text:
        for match in islice(encoded.finditer(text), MAX_CANDIDATES):
            if _decoded(match.group(1).strip(_OWS)) == key:
                found.append((match.start(), match.group(2)))
        found.sort()
    for _, value in found:
        yield _decoded(value.strip(_OWS))


def _encode(text: str, plain: re.Pattern[str], safe: str) -> str:
    if plain.fullmatch(text) and "%" not in text and "+" not in text:
        return text
    return quote(text, safe=safe)


def encode_members(entries: Mapping[str, object], skip: str, taken: Iterable[str] = ()) -> str:
    """Return *entries* (but *skip* and the names in *taken*) as one baggage list.

    Names and values that are already valid baggage go as they are, so a member that
    arrived as ``a=1;p=2`` leaves as ``a=1;p=2``; anything else is percent-encoded.
    """
    items = tuple(entries.items())
    try:
        return _encoded(items, skip, frozenset(taken))
    except TypeError:  # a value that cannot be hashed: encode it every time
        return _encoded.__wrapped__(items, skip, frozenset(taken))


@lru_cache(maxsize=256)
def _encoded(items: tuple[tuple[str, object], ...], skip: str, taken: frozenset[str]) -> str:
    return ",".join(
        f"{_encode(name, _KEY, _KEY_SAFE)}={_encode(str(value), _WITH_PROPERTIES, _VALUE_SAFE)}"
        for name, value in items[:MAX_MEMBERS]
        if name != skip and name not in taken
    )


def names(header: str) -> set[str]:
    """The decoded member names of one baggage *header*."""
    return {_split(part)[0] for part in capped((header,)).split(",")}


def without_member(header: str, key: str) -> str:
    """Return *header* without its *key* members; other members are kept as sent."""
    if key not in header and "%" not in header and "+" not in header:
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


def with_member(header: str | None, key: str, value: str, *, has_key: bool = True) -> str:
    """Return *header* with exactly one *key* member, set to *value*, within W3C limits.

    ``has_key=False`` says *header* holds no *key* member already (none is looked for).
    """
    member = f"{key}={value}"
    rest = (without_member(header, key) if has_key else header) if header else ""
    if rest:
        rest = fitting(rest, MAX_BYTES - len(member) - 1, MAX_MEMBERS - 1)
    return f"{rest},{member}" if rest else member
