"""Lane propagation for ``urllib.request``: `urlopen` and every `OpenerDirector`.

``lanectx.instrument()`` patches ``AbstractHTTPHandler.do_open``, which the HTTP and
HTTPS handlers call once per hop (each redirect is a new hop), so each hop's host
is checked against the allowlist::

    lanectx.instrument()
    urllib.request.urlopen("http://details:9080/details/0")   # x-lane-id if a lane is current

The host judged is the one the URL names (through a proxy too). The caller's
`Request` is left as it was: the changed headers are used for the send only. With
``LaneConfig(routing="client")`` each hop not sent through a proxy dials where the
lane map sends it, with the Host header of the URL addressed.
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from opentelemetry import context

from ._config import LaneConfig
from ._headers import HeaderView
from ._outbound import prepare_request
from ._patch import patch
from .lanemap._calls import routed, with_route
from .lanemap._route import Route

__all__: list[str] = []


@functools.lru_cache(maxsize=256)
def _address(url: str) -> tuple[str | None, int | None, str] | None:
    """(host, port, netloc) of *url*, None when its port is not a number."""
    parts = urlsplit(url)
    try:
        return parts.hostname, parts.port, parts.netloc
    except ValueError:  # urllib refuses the URL itself
        return None


@functools.lru_cache(maxsize=256)
def _host(url: str) -> str | None:
    return urlsplit(url).hostname


@functools.lru_cache(maxsize=256)
def _dialled(host: str, port: int | None) -> str:
    bracketed = f"[{host}]" if ":" in host else host
    return bracketed if port is None else f"{bracketed}:{port}"


def _route(
    config: LaneConfig, req: urllib.request.Request
) -> tuple[str | None, Route | None] | None:
    """Return (the host:port to dial or None, the route for the span or None), or None.

    A hop sent through a proxy (the request's host is not the URL's) is not rerouted.
    """
    address = _address(req.full_url)
    if address is None or req.host != address[2]:
        return None
    host, port, _ = address
    found = routed(config, host, port)
    if found is None:
        return None
    route, ctx = found
    wanted = None if ctx is None else route
    if not route.rerouted(host or "", port):
        return None if wanted is None else (None, wanted)
    return _dialled(route.host, route.port), wanted


def _keep_host(req: urllib.request.Request) -> None:
    """Make sure the hop names the address the caller used (`do_request_` sets it)."""
    if "Host" in req.unredirected_hdrs:  # as `do_request_` spells it
        return
    sent = (*req.headers, *req.unredirected_hdrs)
    if not any(name.lower() == "host" for name in sent):
        host = urlsplit(req.full_url).netloc.rpartition("@")[2]
        req.unredirected_hdrs = {**req.unredirected_hdrs, "Host": host}


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `urllib.request.AbstractHTTPHandler.do_open`; return the undo."""
    routing = config.routing == "client"

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def do_open(
            self: urllib.request.AbstractHTTPHandler,
            http_class: Any,
            req: urllib.request.Request,
            **kwargs: Any,
        ) -> Any:
            if not switch.on:
                return original(self, http_class, req, **kwargs)
            # As do_open merges them: unredirected headers win over the others.
            merged = {**req.headers, **req.unredirected_hdrs}
            view = HeaderView(merged, owned=True)  # a copy already: changed in place
            ctx = prepare_request(config, _host(req.full_url), view, HeaderView.add_new)
            dialled = None
            if routing and (found := _route(config, req)) is not None:
                dialled, route = found
                if route is not None:  # for the call's span, beside the lane context
                    ctx = with_route(route, ctx)
            if view.changed is None and ctx is None and dialled is None:
                return original(self, http_class, req, **kwargs)
            saved = req.headers, req.unredirected_hdrs, req.host
            if view.changed is not None:
                req.headers, req.unredirected_hdrs = {}, cast("dict[str, str]", view.changed)
            if dialled is not None:
                _keep_host(req)
                req.host = dialled
            token = context.attach(ctx) if ctx is not None else None
            try:
                return original(self, http_class, req, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                req.headers, req.unredirected_hdrs, req.host = saved

        return do_open

    return patch(urllib.request.AbstractHTTPHandler, "do_open", make)
