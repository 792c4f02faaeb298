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

import contextlib
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig
from ._outbound import Add, LaneHeaders, add_new, prepare_request
from ._patch import patch
from ._prepared import PREPARED
from .lanemap._calls import routed
from .lanemap._route import Route

__all__: list[str] = []


@functools.lru_cache(maxsize=1024)
def _host(url: str) -> str | None:
    return urlsplit(url).hostname


def _add_stored(headers: Any, added: LaneHeaders) -> bool:
    """`prepare_request`'s quick add into `CaseInsensitiveDict`'s own store, keyed by
    lowercase name (`_store_usable` checks that layout once, at import)."""
    store = headers._store
    if not added.names.isdisjoint(store):
        return False
    for name, value in added.pairs:
        store[name] = (name, value)
    return True


def _store_usable() -> bool:
    """True when `requests.structures.CaseInsensitiveDict` keeps its entries as
    `_add_stored` expects; else the public API is used."""
    try:
        headers = requests.structures.CaseInsensitiveDict({"A": "b"})
        store = headers._store  # type: ignore[attr-defined]
        if dict(store) != {"a": ("A", "b")}:
            return False
        store["x-c"] = ("x-c", "d")
        return headers["X-C"] == "d" and list(headers.items()) == [("A", "b"), ("x-c", "d")]
    except Exception:  # any other layout: the public API it is
        return False


_STORED = _store_usable()


def _adder(headers: Any) -> Add:
    stored = _STORED and type(headers) is requests.structures.CaseInsensitiveDict
    return _add_stored if stored else add_new


@functools.lru_cache(maxsize=1024)
def _rewritten(url: str, host: str, port: int | None) -> tuple[str, str]:
    """Return (*url* sent to *host*:*port* instead, the Host header of the URL addressed).

    With *port* None the URL's own port is kept.
    """
    parts = urlsplit(url)
    if port is None:
        with contextlib.suppress(ValueError):  # not a port: requests refuses the URL itself
            port = parts.port
    bracketed = f"[{host}]" if ":" in host else host
    netloc = bracketed if port is None else f"{bracketed}:{port}"
    return urlunsplit(parts._replace(netloc=netloc)), parts.netloc.rpartition("@")[2]


def _send_routed(
    original: Any,
    session: requests.Session,
    request: requests.PreparedRequest,
    kwargs: dict[str, Any],
    host: str | None,
    found: tuple[Route, Context | None],
) -> Any:
    """Send *request* to its route, with the addressed Host, and answer with its own URL."""
    route, ctx = found
    url = request.url
    had_host = True
    if url is not None and route.rerouted(host or "", None):
        request.url, addressed = _rewritten(url, route.host, route.port)
        had_host = "host" in request.headers
        if not had_host:
            request.headers["Host"] = addressed
    token = None if ctx is None else context.attach(ctx)
    try:
        response = original(session, request, **kwargs)
        response.url = url
        return response
    finally:
        if request.url is not url:
            request.url = url
            if not had_host:
                del request.headers["Host"]
        if token is not None:
            context.detach(token)


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `requests.Session.send`; return the undo."""
    routing = config.routing == "client"

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            if not switch.on:
                return original(self, request, **kwargs)
            host = _host(request.url or "")
            headers = request.headers
            ctx = prepare_request(config, host, headers, _adder(headers))
            prepared = PREPARED.set(True)  # urllib3 under requests: this hop is decided
            token = None if ctx is None else context.attach(ctx)
            try:
                # Decided inside ctx, so the route's context keeps the request's baggage.
                # The port is not needed to decide: a lane version keeps the URL's own.
                if routing and (found := routed(config, host, None)) is not None:
                    return _send_routed(original, self, request, kwargs, host, found)
                return original(self, request, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                PREPARED.reset(prepared)

        return send

    return patch(requests.Session, "send", make)
