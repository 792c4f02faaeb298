"""One outgoing request: add the lane for allowed hosts, strip it for all others.

Client integrations (httpx, requests, grpc) call `prepare_request` per hop::

    ctx = prepare_request(config, "reviews", request.headers)
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import baggage
from opentelemetry.context import Context, get_current

from ._baggage import MAX_BYTES, encode_members, fitting, names, with_member, without_member
from ._config import LaneConfig
from ._context import current_lane

__all__ = ["prepare_request"]


def prepare_request(
    config: LaneConfig, host: str | None, headers: MutableMapping[str, str]
) -> Context | None:
    """Set or strip the lane headers of one request to *host*, in place.

    *headers* must be case-insensitive (httpx, requests). To an allowed host the
    current lane goes out as the outbound header and one baggage member, beside the
    context's other baggage members (those the request does not set itself). To any
    other host every lane header and lane baggage member is removed, and the
    returned context (the current one without the lane) should be attached
    around the send, so instrumentations that inject baggage later add none.
    """
    if not config.enabled:
        return None
    key = config.baggage_key
    current = get_current()
    lane = current_lane(current, config)
    if config.host_allowed(host):
        entries = baggage.get_all(current) if current else None
        if lane is not None and config.outbound_header:
            headers[config.outbound_header] = lane
        if entries and (lane is None or len(entries) > 1):
            merged = _with_context_members(headers.get("baggage"), entries, key, lane)
            if merged:
                headers["baggage"] = merged
        elif lane is not None:
            headers["baggage"] = with_member(headers.get("baggage"), key, lane)
        return None
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


def _with_context_members(
    sent: str | None, entries: Mapping[str, object], key: str, lane: str | None
) -> str:
    """The request's baggage, plus the context's other members it does not set itself,
    plus exactly one lane member when a lane is current ("" when all are empty)."""
    rest = (without_member(sent, key) if lane is not None else sent) if sent else ""
    added = encode_members(entries, key, names(rest) if rest else ())
    others = ",".join(part for part in (rest, added) if part)
    if lane is None:
        return fitting(others, MAX_BYTES)
    return with_member(others, key, lane)
