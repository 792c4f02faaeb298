"""One outgoing request: add the lane for allowed hosts, strip it for all others.

Client integrations (httpx, requests, grpc) call `prepare_request` per hop::

    ctx = prepare_request(config, "reviews", request.headers)
"""

from __future__ import annotations

from collections.abc import MutableMapping

from opentelemetry import baggage
from opentelemetry.context import Context

from ._baggage import with_member, without_member
from ._config import LaneConfig
from ._context import current_lane

__all__ = ["prepare_request"]


def prepare_request(
    config: LaneConfig, host: str | None, headers: MutableMapping[str, str]
) -> Context | None:
    """Set or strip the lane headers of one request to *host*, in place.

    *headers* must be case-insensitive (httpx, requests). To an allowed host the
    current lane goes out as the outbound header and one baggage member. To any
    other host every lane header and lane baggage member is removed, and the
    returned context (the current one without the lane) should be attached
    around the send, so instrumentations that inject baggage later add none.
    """
    if not config.enabled:
        return None
    key = config.baggage_key
    lane = current_lane(None, config)
    if config.host_allowed(host):
        if lane is not None:
            if config.outbound_header:
                headers[config.outbound_header] = lane
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
