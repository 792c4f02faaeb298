"""Lane propagation for requests: every `requests.Session`, and module-level calls.

``lanectx.instrument()`` patches ``Session.send``, which requests calls once per
hop (redirects included), so each hop's host is checked against the allowlist::

    lanectx.instrument()
    requests.get("http://details:9080/details/0")   # carries x-lane-id if a lane is current

In client routing mode (``LANECTX_ROUTING=client``) each hop to a service in the
lane map is sent to the lane's version (or stable) with the Host header of the
URL addressed; the response's URL is the one addressed, so relative redirects are
routed again from the service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import requests
from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig
from ._outbound import prepare_request
from ._patch import patch
from .lanemap._calls import routed
from .lanemap._route import Route

__all__: list[str] = []


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # not a port number: requests will refuse the URL itself
        return None


def _send_routed(
    original: Any,
    session: requests.Session,
    request: requests.PreparedRequest,
    kwargs: dict[str, Any],
    parts: SplitResult,
    found: tuple[Route, Context],
) -> Any:
    """Send *request* to its route, with the addressed Host, and answer with its own URL."""
    route, ctx = found
    url = request.url
    had_host = "host" in request.headers
    if route.rerouted(parts.hostname or "", _port(parts)) and url is not None:
        host = f"[{route.host}]" if ":" in route.host else route.host
        netloc = host if route.port is None else f"{host}:{route.port}"
        request.url = urlunsplit(parts._replace(netloc=netloc))
        if not had_host:
            request.headers["Host"] = parts.netloc.rpartition("@")[2]
    token = context.attach(ctx)
    try:
        response = original(session, request, **kwargs)
        response.url = url
        return response
    finally:
        request.url = url
        if not had_host:
            request.headers.pop("Host", None)
        context.detach(token)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `requests.Session.send`; return the undo."""
    routing = config.routing == "client"

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            ctx = None
            if switch.on:
                parts = urlsplit(request.url or "")
                ctx = prepare_request(config, parts.hostname, request.headers)
                if routing and (found := routed(config, parts.hostname, _port(parts))) is not None:
                    return _send_routed(original, self, request, kwargs, parts, found)
            if ctx is None:
                return original(self, request, **kwargs)
            token = context.attach(ctx)
            try:
                return original(self, request, **kwargs)
            finally:
                context.detach(token)

        return send

    return patch(requests.Session, "send", make)
