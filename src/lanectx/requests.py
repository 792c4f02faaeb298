"""Lane propagation for requests: every `requests.Session`, and module-level calls.

``lanectx.instrument()`` patches ``Session.send``, which requests calls once per
hop (redirects included), so each hop's host is checked against the allowlist::

    lanectx.instrument()
    requests.get("http://details:9080/details/0")   # carries x-lane-id if a lane is current
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from opentelemetry import context

from ._config import LaneConfig
from ._outbound import prepare_request
from ._patch import patch
from ._prepared import PREPARED

__all__: list[str] = []


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `requests.Session.send`; return the undo."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            ctx = None
            if switch.on:
                host = urlsplit(request.url or "").hostname
                ctx = prepare_request(config, host, request.headers)
            prepared = PREPARED.set(True)  # urllib3 under requests: this hop is decided
            token = context.attach(ctx) if ctx is not None else None
            try:
                return original(self, request, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                PREPARED.reset(prepared)

        return send

    return patch(requests.Session, "send", make)
