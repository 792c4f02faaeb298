"""Just enough of W3C baggage to find, drop and add one member.

Lists are split on ``,``; optional whitespace around ``=``, ``,`` and ``;`` is
ignored; properties after the first ``;`` are ignored; several headers are read as
one list. A name inside a property (``a=1;lane=pr-7``) is not a member name::

    list(member_values(["a=1, lane = pr-7 ;p=1"], "lane"))  # ['pr-7']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import unquote

__all__ = ["member_values", "with_member", "without_member"]

_OWS = " \t"


def _split(member: str) -> tuple[str, str]:
    """Return (name, value) of one list member, properties removed."""
    pair = member.split(";", 1)[0]
    name, sep, value = pair.partition("=")
    if not sep:
        return "", ""
    return name.strip(_OWS), value.strip(_OWS)


def member_values(headers: Iterable[str], key: str) -> Iterator[str]:
    """Yield the value of every *key* member in *headers*, in order."""
    for header in headers:
        if key not in header:
            continue
        for member in header.split(","):
            name, value = _split(member)
            if name == key:
                yield unquote(value) if "%" in value else value


def without_member(header: str, key: str) -> str:
    """Return *header* without its *key* members; other members are kept as sent."""
    if key not in header:
        return header
    kept = [m.strip(_OWS) for m in header.split(",") if _split(m)[0] != key]
    return ",".join(m for m in kept if m)


def with_member(header: str | None, key: str, value: str) -> str:
    """Return *header* with exactly one *key* member, set to *value*."""
    rest = without_member(header, key) if header else ""
    return f"{rest},{key}={value}" if rest else f"{key}={value}"
