"""Lane propagation for urllib3: `PoolManager`, connection pools and ``urllib3.request``.

``lanectx.instrument()`` patches ``PoolManager.urlopen`` (``urllib3.request`` and
``ProxyManager`` use it), called once per hop as it follows redirects itself, and
``HTTPConnectionPool.urlopen`` for pools used directly (botocore does), so every
library built on urllib3 carries the lane::

    lanectx.instrument()
    urllib3.request("GET", "http://details:9080/details/0")   # x-lane-id if a lane is current

The allowlist is judged on the host the request is addressed to: the URL's host
(``PoolManager``), else the pool's host, or the URL's when a pool forwards an
absolute URL through a proxy. Under requests (itself patched) or a ``PoolManager``
the outer hop has decided and the pool adds nothing. Caller headers are never
changed in place: a changed copy is sent. With ``LaneConfig(routing="client")`` a
``PoolManager`` call goes where the lane map sends it, and a pool used directly sends
a rerouted call through a child pool it owns (`_urllib3_routes`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context
from opentelemetry.context import Context, get_current
from urllib3 import HTTPHeaderDict, PoolManager
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from ._config import LaneConfig
from ._headers import HeaderView
from ._outbound import prepare_request
from ._patch import patch
from ._prepared import PREPARED
from ._urllib3_routes import close_children, parent_of, route_pool
from .lanemap._calls import with_route
from .lanemap._route import Route

__all__: list[str] = []

_HEADERS = 1  # urlopen(method, url, body, headers, ...): index in the rest


@functools.lru_cache(maxsize=256)
def _url_host(url: str) -> str | None:
    return urlsplit(url).hostname


def _pool_host(pool: HTTPConnectionPool, url: str) -> str | None:
    if url.startswith(("http://", "https://")):
        return _url_host(url)
    return pool.host


def _routed(config: LaneConfig, url: str, headers: Any) -> tuple[str, Any, Route | None]:
    """Return (*url* pointing where the lane map sends it, the headers to send, the route
    for the call's span or None).

    A rerouted call keeps the Host header of the address it was sent to
    (docs/meshless.md); the caller's headers are copied, never changed in place.
    """
    from .lanemap._calls import routed

    parsed = parse_url(url)
    found = routed(config, parsed.host, parsed.port)
    if found is None:
        return url, headers, None
    route, ctx = found
    wanted = None if ctx is None else route
    if not route.rerouted(parsed.host or "", parsed.port):
        return url, headers, wanted
    sent = HTTPHeaderDict(headers or {})
    if "host" not in sent:
        sent["Host"] = parsed.netloc or ""
    return parsed._replace(host=route.host, port=route.port).url, sent, wanted


def _prepared(
    config: LaneConfig, host: str | None, sent: Any, host_header: str | None = None
) -> tuple[Any, Context | None]:
    """Prepare the lane headers of one hop: (the headers to pass, the context to call in).

    *host_header*, when given, is sent as Host unless the caller set one.
    """
    if host_header is None and not get_current() and config.host_allowed(host):
        return sent, None  # nothing to add, nothing to strip
    view = HeaderView(sent)
    ctx = prepare_request(config, host, view, HeaderView.add_new)
    if host_header is not None and "host" not in view:
        if view.changed is None:
            view["Host"] = host_header
        else:  # already a copy: no need to look for other spellings of a header it lacks
            view.changed["Host"] = host_header
    return (sent if view.changed is None else view.changed), ctx


def _own_host(pool: HTTPConnectionPool, url: str) -> bool:
    """True when *url* names *pool*'s own host (another is the pool's to refuse or send)."""
    try:
        return pool.is_same_host(url)
    except LocationParseError:  # the pool's own call says so, or sends it as it is
        return False


def _in_route(call: Callable[..., Any], route: Route) -> Callable[..., Any]:
    """*call*, made in the context of the moment carrying *route* for the call's span."""

    def in_route(*args: Any, **kwargs: Any) -> Any:
        token = context.attach(with_route(route))
        try:
            return call(*args, **kwargs)
        finally:
            context.detach(token)

    return in_route


def _install(config: LaneConfig) -> Callable[[], None]:
    """Patch `PoolManager.urlopen` and `HTTPConnectionPool.urlopen`; return the undo."""
    routing = config.routing == "client"

    def make_manager(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def urlopen(self: PoolManager, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if not switch.on:
                return original(self, method, url, *args, **kwargs)
            host = _url_host(url)  # as addressed, also when rerouted
            headers = kwargs.get("headers", self.headers)
            route = None
            if routing:
                url, headers, route = _routed(config, url, headers)
            kwargs["headers"], ctx = _prepared(config, host, headers)
            if route is not None:  # for the call's span, beside the lane context
                ctx = with_route(route, ctx)
            prepared = PREPARED.set(True)  # the pools under it: this hop is decided
            token = None if ctx is None else context.attach(ctx)
            try:
                return original(self, method, url, *args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                PREPARED.reset(prepared)

        return urlopen

    def make_pool(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def urlopen(
            self: HTTPConnectionPool, method: str, url: str, *args: Any, **kwargs: Any
        ) -> Any:
            if not switch.on or PREPARED.get():
                return original(self, method, url, *args, **kwargs)
            if routing and (parent := parent_of(self)) is not None:
                # A redirect or retry the child follows itself: the owner decides it again.
                return parent.urlopen(method, url, *args, **kwargs)
            positional = len(args) > _HEADERS
            sent = args[_HEADERS] if positional else kwargs.get("headers")
            target, host_header, inner = self, None, original
            if routing and (url[:1] == "/" or _own_host(self, url)):
                target, host_header, route = route_pool(config, self)
                if route is not None:
                    inner = _in_route(original, route)
            headers, ctx = _prepared(
                config, _pool_host(self, url), self.headers if sent is None else sent, host_header
            )
            if host_header is not None and url.startswith(("http://", "https://")):
                url = parse_url(url).request_uri  # the child's own host is another
            if positional:
                args = (*args[:_HEADERS], headers, *args[_HEADERS + 1 :])
            else:
                kwargs["headers"] = headers
            token = None if ctx is None else context.attach(ctx)
            try:
                return inner(target, method, url, *args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)

        return urlopen

    def make_close(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def close(self: HTTPConnectionPool) -> None:
            original(self)
            if switch.on:
                close_children(self)

        return close

    undo_manager = patch(PoolManager, "urlopen", make_manager)
    undo_pool = patch(HTTPConnectionPool, "urlopen", make_pool)
    undo_close = patch(HTTPConnectionPool, "close", make_close) if routing else None

    def undo() -> None:
        if undo_close is not None:
            undo_close()
        undo_pool()
        undo_manager()

    return undo
