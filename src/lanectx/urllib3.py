"""Lane propagation for urllib3: `PoolManager`, connection pools and ``urllib3.request``.

``lanectx.instrument()`` patches ``HTTPConnectionPool.urlopen``, the one method every
urllib3 request goes through once per hop (redirects and retries included), so
libraries built on urllib3 (botocore, the Kubernetes client) carry the lane too::

    lanectx.instrument()
    urllib3.request("GET", "http://details:9080/details/0")   # x-lane-id if a lane is current

The allowlist is judged on the host the request goes to: the pool's host, or the
URL's host when the pool forwards an absolute URL through a proxy. Under requests
(itself patched), the requests hop has already decided and urllib3 adds nothing.
Caller headers are never changed in place: a changed copy is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context
from urllib3.connectionpool import HTTPConnectionPool

from ._config import LaneConfig
from ._headers import HeaderView
from ._hop import PREPARED
from ._outbound import prepare_request
from ._patch import patch

__all__: list[str] = []

_HEADERS = 1  # urlopen(method, url, body, headers, ...): index in the rest


def _host(pool: HTTPConnectionPool, url: str) -> str | None:
    if url.startswith(("http://", "https://")):
        return urlsplit(url).hostname
    return pool.host


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `HTTPConnectionPool.urlopen`; return the undo."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def urlopen(
            self: HTTPConnectionPool, method: str, url: str, *args: Any, **kwargs: Any
        ) -> Any:
            if not switch.on or PREPARED.get():
                return original(self, method, url, *args, **kwargs)
            positional = len(args) > _HEADERS
            sent = args[_HEADERS] if positional else kwargs.get("headers")
            view = HeaderView(self.headers if sent is None else sent)
            ctx = prepare_request(config, _host(self, url), view)
            if view.changed is not None:
                if positional:
                    args = (*args[:_HEADERS], view.changed, *args[_HEADERS + 1 :])
                else:
                    kwargs["headers"] = view.changed
            if ctx is None:
                return original(self, method, url, *args, **kwargs)
            token = context.attach(ctx)
            try:
                return original(self, method, url, *args, **kwargs)
            finally:
                context.detach(token)

        return urlopen

    return patch(HTTPConnectionPool, "urlopen", make)
