"""The baggage members a request arrived with, read once, to be passed on as they came.

One regex pass over the list (within the W3C limits) finds every valid member.
Names are decoded as OpenTelemetry decodes them only when one holds ``%`` or
``+``; values are decoded (for the context, where OpenTelemetry's own propagator
reads them) in a few passes over all of them at once, not member by member. The
members leave on outgoing calls as they arrived::

    arrived = request_members("a=%41, b = 2;p=1", "lane")
    dict(arrived.decoded)  # {'a': 'A', 'b': '2;p=1'}
    arrived.sent           # 'a=%41,b = 2;p=1'
"""

from __future__ import annotations

import re
from binascii import a2b_qp
from codecs import escape_decode
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from types import MappingProxyType
from typing import NamedTuple

from ._baggage import _KEY, _OWS, _VALUE, capped

__all__ = ["Arrived", "members", "request_members"]

# A whole run of optional whitespace, never given back, so no input backtracks.
_RUN = rf"[{_OWS}]*(?![{_OWS}])"
_CHAR = _VALUE.removesuffix("*")
_PROPERTY = rf"{_RUN};{_RUN}{_KEY.pattern}(?:{_RUN}=(?:{_RUN}{_CHAR}+)?)?"


@lru_cache(maxsize=32)
def _member(skip: str, full: bool) -> re.Pattern[str]:
    """(member as sent, name, value with its properties) of each member after a ``,``;
    a member named *skip* as sent fails at its first characters. Not *full*: the
    grammar of a list without whitespace and properties, which matches faster."""
    run = _RUN if full else ""
    not_skip = rf"(?!{re.escape(skip)}{run}=)"
    value = rf"{_CHAR}*(?:{_PROPERTY})*" if full else rf"{_CHAR}*"
    return re.compile(rf",{run}{not_skip}(({_KEY.pattern}){run}={run}({value})){run}(?=,)")


_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SENT, _NAME, _VALUE_AT = itemgetter(0), itemgetter(1), itemgetter(2)
_AS_QUOTED_PRINTABLE = bytes.maketrans(b"%+", b"= ")


class Arrived(NamedTuple):
    """A request's members but the lane: decoded for the context, and as sent."""

    decoded: Mapping[str, str]
    """Decoded name -> decoded value (properties kept), as OpenTelemetry reads them."""
    raw: Mapping[str, str]
    """Decoded name -> the member as it arrived (``name=value;props``)."""
    sent: str
    """Every member as it arrived, as one list."""


def _decode_all(texts: list[str], joined: str) -> list[str]:
    """*texts* (valid baggage names or values: ASCII, no ``\\``, ``,`` or space; *joined*
    by ``,``) decoded as OpenTelemetry decodes them, by a few C-level passes over all
    of them at once."""
    count = len(texts)
    if "=" not in joined:
        # "%XX" is quoted-printable's "=XX": when every "%" is one (the length says so),
        # one pass decodes them all.
        sent = joined.encode("ascii").translate(_AS_QUOTED_PRINTABLE)
        raw = a2b_qp(sent)
        if len(raw) == len(sent) - 2 * sent.count(b"="):
            if raw.count(b",") == count - 1:
                return _split(raw)
            return _texts(map(a2b_qp, sent.split(b",")))  # some "%2C" decoded to a comma
    escaped = joined.replace("+", " ").replace("%", "\\x").encode("ascii")
    try:
        raw = escape_decode(escaped)[0]
    except ValueError:  # a "%" without two hex digits after it stays as it is: "%25"
        joined = _LONE_PERCENT.sub("%25", joined.replace("+", " "))
        escaped = joined.replace("%", "\\x").encode("ascii")
        raw = escape_decode(escaped)[0]
    if raw.count(b",") == count - 1:
        return _split(raw)
    # Some "%2C" decoded to a comma: split first, then decode each text.
    return _texts(map(_SENT, map(escape_decode, escaped.split(b","))))


def _split(decoded: bytes) -> list[str]:
    """`_texts` of a list joined by ``,``: an ASCII ``,`` ends any broken UTF-8 sequence,
    as the end of a text does, so the whole list is decoded at once."""
    text = decoded.decode("utf-8", "replace")
    parts = text.split(",")
    if text.split(None, 1) == [text]:  # no whitespace anywhere: nothing to strip
        return parts
    return list(map(str.strip, parts))


def _texts(decoded: Iterable[bytes]) -> list[str]:
    """UTF-8 *decoded* as OpenTelemetry reads it: bad bytes replaced, whitespace stripped."""
    return list(map(str.strip, map(bytes.decode, decoded, repeat("utf-8"), repeat("replace"))))


@lru_cache(maxsize=256)
def request_members(text: str, skip: str) -> Arrived:
    """Read one request's baggage list (cut to the W3C limits); remembered per list.

    A member that is not W3C baggage is left out; of several with one name the
    last value is kept; *skip* members and empty names are dropped.
    """
    listed = capped((text,))
    text = "," + listed + ","
    full = ";" in text or " " in text or "\t" in text
    found = _member(skip, full).findall(text)
    names = list(map(_NAME, found))
    if "%" in (every := "".join(names)) or "+" in every:
        names = _decode_all(names, ",".join(names))
    values = list(map(_VALUE_AT, found))
    if "%" in (every := ",".join(values)) or "+" in every:
        values = _decode_all(values, every)
    decoded = dict(zip(names, values, strict=True))
    raw = dict(zip(names, map(_SENT, found), strict=True))
    for dropped in (skip, ""):
        decoded.pop(dropped, None)
        raw.pop(dropped, None)
    if not full and len(raw) == len(found) == listed.count(",") + 1:
        sent = listed  # every member read, none twice, none dropped: the list as it came
    else:
        sent = ",".join(raw.values())
    return Arrived(MappingProxyType(decoded), MappingProxyType(raw), sent)


def members(headers: Iterable[str], skip: str) -> dict[str, str]:
    """Return every valid member but *skip*, decoded as OpenTelemetry's propagator does.

    A value keeps its properties (``a=1;p=2`` is ``a`` = ``1;p=2``); a later member of
    the same name replaces an earlier one; a member that is not W3C baggage is left out.
    """
    return dict(request_members(capped(headers), skip).decoded)
