"""Lane propagation for ``urllib.request``: `urlopen` and every `OpenerDirector`.

``lanectx.instrument()`` patches ``AbstractHTTPHandler.do_open``, which the HTTP and
HTTPS handlers call once per hop (each redirect is a new hop), so each hop's host
is checked against the allowlist::

    lanectx.instrument()
    urllib.request.urlopen("http://details:9080/details/0")   # x-lane-id if a lane is current

The host judged is the one the URL names (through a proxy too). The caller's
`Request` is left as it was: the changed headers are used for the send only.
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

__all__: list[str] = []


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `urllib.request.AbstractHTTPHandler.do_open`; return the undo."""

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
            ctx = prepare_request(config, urlsplit(req.full_url).hostname, view)
            if view.changed is None and ctx is None:
                return original(self, http_class, req, **kwargs)
            saved = req.headers, req.unredirected_hdrs
            if view.changed is not None:
                req.headers, req.unredirected_hdrs = {}, cast("dict[str, str]", view.changed)
            token = context.attach(ctx) if ctx is not None else None
            try:
                return original(self, http_class, req, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                req.headers, req.unredirected_hdrs = saved

        return do_open

    return patch(urllib.request.AbstractHTTPHandler, "do_open", make)
