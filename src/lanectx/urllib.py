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
from urllib.parse import SplitResult, urlsplit

from opentelemetry import context
from opentelemetry.context import Context

from ._config import LaneConfig
from ._headers import HeaderView
from ._outbound import prepare_request
from ._patch import patch

__all__: list[str] = []


def _route(
    config: LaneConfig, req: urllib.request.Request, url: SplitResult
) -> tuple[str | None, Context | None] | None:
    """Return (the host:port to dial, the route's context) for a rerouted hop, else None.

    A hop sent through a proxy (the request's host is not the URL's) is not rerouted.
    """
    from .lanemap._calls import routed

    if req.host != url.netloc:
        return None
    try:
        host, port = url.hostname, url.port
    except ValueError:  # not a port: urllib refuses the URL itself
        return None
    found = routed(config, host, port)
    if found is None:
        return None
    route, ctx = found
    if not route.rerouted(host or "", port):
        return None if ctx is None else (None, ctx)
    dialled = f"[{route.host}]" if ":" in route.host else route.host
    return (dialled if route.port is None else f"{dialled}:{route.port}"), ctx


def _keep_host(req: urllib.request.Request, url: SplitResult) -> None:
    """Make sure the hop names the address the caller used (`do_request_` sets it)."""
    sent = (*req.headers, *req.unredirected_hdrs)
    if not any(name.lower() == "host" for name in sent):
        host = url.netloc.rpartition("@")[2]
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
            view = HeaderView(merged)
            url = urlsplit(req.full_url)
            ctx = prepare_request(config, url.hostname, view)
            if not routing and view.changed is None and ctx is None:
                return original(self, http_class, req, **kwargs)
            saved = req.headers, req.unredirected_hdrs, req.host
            if view.changed is not None:
                req.headers, req.unredirected_hdrs = {}, cast("dict[str, str]", view.changed)
            tokens = [] if ctx is None else [context.attach(ctx)]
            try:
                # Decided inside the lane context: the route's context keeps it.
                found = _route(config, req, url) if routing else None
                if found is not None:
                    dialled, route_ctx = found
                    if route_ctx is not None:
                        tokens.append(context.attach(route_ctx))
                    if dialled is not None:
                        _keep_host(req, url)
                        req.host = dialled
                return original(self, http_class, req, **kwargs)
            finally:
                for token in reversed(tokens):
                    context.detach(token)
                req.headers, req.unredirected_hdrs, req.host = saved

        return do_open

    return patch(urllib.request.AbstractHTTPHandler, "do_open", make)
