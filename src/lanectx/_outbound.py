"""One outgoing request: add the lane for allowed hosts, strip it for all others.

Client integrations (httpx, requests, grpc) call `prepare_request` per hop::

    ctx = prepare_request(config, "reviews", request.headers)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from functools import lru_cache
from typing import Any, NamedTuple

from opentelemetry import baggage
from opentelemetry.context import Context, create_key, get_current, set_value

from ._arrived import Arrived, request_members
from ._baggage import MAX_BYTES, encode_members, fitting, names, with_member, without_member
from ._config import LaneConfig
from ._context import current_lane
from ._lane import is_valid_lane

__all__ = [
    "Add",
    "LaneHeaders",
    "add_new",
    "lane_headers",
    "prepare_request",
    "with_request_baggage",
]

_REQUEST_BAGGAGE = create_key("lanectx-request-baggage")
# OpenTelemetry keeps all baggage under one context key; setting the whole mapping at
# once costs one context copy instead of one per member.
_BAGGAGE_KEY: str | None = getattr(baggage, "_BAGGAGE_KEY", None)


class LaneHeaders(NamedTuple):
    """The headers one hop adds for a lane, as text and as bytes."""

    names: frozenset[str]
    pairs: tuple[tuple[str, str], ...]
    raw_names: frozenset[bytes]
    raw: tuple[tuple[bytes, bytes, bytes], ...]
    """(name, name, value) as ASCII bytes: the layout `httpx.Headers` keeps (names lowercase)."""


Add = Callable[[Any, LaneHeaders], bool]
"""A client's quick way to add headers: ``add(headers, lane_headers)``.

When the request has no header named in ``lane_headers.names`` in any case, it adds
them and returns True; else it returns False, having changed nothing, and the
general path merges them.
"""


def add_new(headers: MutableMapping[str, str], added: LaneHeaders) -> bool:
    """The `Add` of any case-insensitive headers (aiohttp's, requests' own)."""
    for name in added.names:
        if name in headers:
            return False
    for name, value in added.pairs:
        headers[name] = value
    return True


def with_request_baggage(ctx: Context, text: str) -> Context:
    """Return *ctx* holding the baggage list a request arrived with, to be passed on.

    Server integrations call this; the members are parsed only when an outgoing call
    needs them (`prepare_request`), once per distinct list.
    """
    return set_value(_REQUEST_BAGGAGE, text, ctx) if text else ctx


def _with_baggage(ctx: Context, entries: dict[str, object]) -> Context:
    if _BAGGAGE_KEY is not None:  # one copy of the context (set_value makes two)
        return Context({**ctx, _BAGGAGE_KEY: entries})
    ctx = baggage.clear(ctx)
    for name, value in entries.items():
        ctx = baggage.set_baggage(name, value, ctx)
    return ctx


def _baggage_of(ctx: Context) -> Mapping[str, object]:
    """The baggage of *ctx*, read only: OpenTelemetry's own mapping where it can be had."""
    if _BAGGAGE_KEY is not None:
        entries = ctx.get(_BAGGAGE_KEY)
        return entries if isinstance(entries, dict) else {}
    return baggage.get_all(ctx)


def _request_members(
    current: Context, key: str, entries: Mapping[str, object]
) -> tuple[Context, Arrived] | None:
    """The context with the request's other baggage members added, and those members;
    None if it has none. Members set in process win over those the request brought.
    """
    text = current.get(_REQUEST_BAGGAGE)
    if not isinstance(text, str):
        return None
    arrived = request_members(text, key)
    if not arrived.decoded:
        return None
    return _with_baggage(current, {**arrived.decoded, **entries}), arrived


@lru_cache(maxsize=256)  # as many as request_members keeps: a list is up to 8 KiB
def lane_headers(
    outbound_header: str | None, key: str, lane: str, members: str | None
) -> LaneHeaders:
    """The headers that carry *lane*: the outbound header and ``baggage``, the lane member
    after the *members* the request arrived with, if any."""
    sent = ("baggage", with_member(members, key, lane, has_key=False))
    pairs = ((outbound_header, lane), sent) if outbound_header else (sent,)
    raw = tuple((n.encode(), n.encode(), v.encode("ascii")) for n, v in pairs)
    names = frozenset(name for name, _ in pairs)
    return LaneHeaders(names, pairs, frozenset(name.encode() for name in names), raw)


def prepare_request(
    config: LaneConfig,
    host: str | None,
    headers: MutableMapping[str, str],
    add: Add | None = None,
) -> Context | None:
    """Set or strip the lane headers of one request to *host*, in place.

    *headers* must be case-insensitive (httpx, requests). To an allowed host the
    current lane goes out as the outbound header and one baggage member, beside the
    context's other baggage members (those the request does not set itself). To any
    other host every lane header and lane baggage member is removed, and the
    returned context (the current one without the lane) should be attached
    around the send, so instrumentations that inject baggage later add none.

    With *add* (see `Add`), the common cases, a lane and no other baggage in process
    (beside the members the request brought, if any), and a request with no lane or
    ``baggage`` header of its own, use the client's own quicker way to add headers.
    """
    if not config.enabled:
        return None
    key = config.baggage_key
    current = get_current()
    if config.host_allowed(host):
        if not current:  # nothing current: nothing to add
            return None
        entries = _baggage_of(current)
        value = entries.get(key)
        lane = value if isinstance(value, str) and is_valid_lane(value) else None
        full, arrived = _request_members(current, key, entries) or (None, None)
        if add is not None and lane is not None and len(entries) == 1:
            sent = None if arrived is None else arrived.sent
            if add(headers, lane_headers(config.outbound_header, key, lane, sent)):
                return full
        if lane is not None and config.outbound_header:
            headers[config.outbound_header] = lane
        if arrived is not None or (entries and (lane is None or len(entries) > 1)):
            merged = _with_context_members(_sent_baggage(headers), entries, key, lane, arrived)
            if merged:
                headers["baggage"] = merged
        elif lane is not None:
            member = f"{key}={lane}"
            sent = _sent_baggage(headers)
            if sent != member:  # a redirect's copy of the request is right already
                headers["baggage"] = member if sent is None else with_member(sent, key, lane)
        return full  # so instrumentations that inject baggage later send the same
    lane = current_lane(current, config)
    for name in (*config.lane_headers, *config.pr_headers, config.outbound_header):
        if name and name in headers:
            del headers[name]
    sent = headers.get("baggage")
    if sent:
        rest = without_member(sent, key)
        if rest:
            headers["baggage"] = rest
        else:
            del headers["baggage"]
    return None if lane is None else baggage.remove_baggage(key)


def _sent_baggage(headers: MutableMapping[str, str]) -> str | None:
    """The request's own ``baggage`` header: looked for first, as a miss is the common
    case and costs less than a ``get`` that misses (httpx's raises inside)."""
    return headers.get("baggage") if "baggage" in headers else None


def _with_context_members(
    sent: str | None,
    entries: Mapping[str, object],
    key: str,
    lane: str | None,
    arrived: Arrived | None = None,
) -> str:
    """The request's baggage, plus the context's other members it does not set itself,
    plus exactly one lane member when a lane is current ("" when all are empty).

    The members the incoming request brought (*arrived*) go as they arrived, but
    those the context has changed since."""
    rest = (without_member(sent, key) if lane is not None else sent) if sent else ""
    taken = names(rest) if rest else set()
    if arrived is None:
        added = encode_members(entries, key, taken)
    else:
        added = _arrived_and_context(arrived, entries, key, taken)
    others = ",".join(part for part in (rest, added) if part)
    if lane is None:
        return fitting(others, MAX_BYTES)
    return with_member(others, key, lane, has_key=False)


_MISSING = object()


def _arrived_and_context(
    arrived: Arrived, entries: Mapping[str, object], key: str, taken: set[str]
) -> str:
    """The members that arrived, as sent, and the context's members that differ."""
    decoded = arrived.decoded
    changed = {
        name: value
        for name, value in entries.items()
        if name != key and decoded.get(name, _MISSING) != value
    }
    kept = arrived.sent
    if taken or not changed.keys().isdisjoint(decoded):
        dropped = taken | changed.keys()
        kept = ",".join(member for name, member in arrived.raw.items() if name not in dropped)
    added = encode_members(changed, key, taken) if changed else ""
    return f"{kept},{added}" if kept and added else kept or added
