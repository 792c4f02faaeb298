"""Client routing for a urllib3 connection pool used directly: one child pool per route.

A pool dials the one host it was made for, so a call the lane map sends elsewhere
goes through a child pool (of its class, so its scheme) for the route's host and
port, owned by the pool: made on first use with the pool's own options (timeouts,
retries, size, TLS settings), at most `MAX_CHILDREN` per pool (the oldest is closed
beyond that), and closed when the pool is closed. A hop the child follows itself (a
redirect, a retry) goes back to the pool, which decides it again::

    target, host, route = route_pool(config, pool)   # (pool, None, None): as addressed
    if host is not None:
        headers = {**headers, "Host": host}   # unless the caller set a Host
    original_urlopen(target, method, path, body, headers, ...)
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from urllib3.connection import port_by_scheme
from urllib3.connectionpool import HTTPConnectionPool

from ._config import LaneConfig
from .lanemap._calls import routed
from .lanemap._route import Route

__all__ = ["MAX_CHILDREN", "close_children", "parent_of", "route_pool"]

MAX_CHILDREN = 32  # far above the lanes one service has
_CHILDREN = "_lanectx_children"
_PARENT = "_lanectx_parent"
_TLS_OPTIONS = (
    "key_file",
    "cert_file",
    "cert_reqs",
    "key_password",
    "ca_certs",
    "ca_cert_dir",
    "ssl_version",
    "ssl_minimum_version",
    "ssl_maximum_version",
    "assert_hostname",
    "assert_fingerprint",
)
_lock = threading.Lock()
_logger = logging.getLogger("lanectx")
_refused: set[type[HTTPConnectionPool]] = set()  # pool classes that cannot be copied: logged once


def parent_of(pool: HTTPConnectionPool) -> HTTPConnectionPool | None:
    """Return the pool that owns child pool *pool*, None for any other pool."""
    ref = vars(pool).get(_PARENT)
    return None if ref is None else ref()


def close_children(pool: HTTPConnectionPool) -> None:
    """Close the child pools of *pool* (called when *pool* is closed)."""
    with _lock:
        children = vars(pool).pop(_CHILDREN, None)
    for child, _ in (children or {}).values():
        child.close()


def _copy(pool: HTTPConnectionPool, host: str, port: int | None) -> HTTPConnectionPool | None:
    """A new pool of *pool*'s class and options for *host*:*port*, None if it cannot be made."""
    queue = pool.pool
    options: dict[str, Any] = {
        "timeout": pool.timeout,
        "maxsize": 1 if queue is None else queue.maxsize,
        "block": pool.block,
        "headers": pool.headers,
        "retries": pool.retries,
        **pool.conn_kw,
    }
    options.update({name: getattr(pool, name) for name in _TLS_OPTIONS if hasattr(pool, name)})
    try:
        return type(pool)(host, port, **options)
    except (TypeError, ValueError) as error:
        if type(pool) not in _refused:
            _refused.add(type(pool))
            _logger.warning("%s cannot be routed (%s): its calls go as addressed", pool, error)
        return None


def _child(pool: HTTPConnectionPool, host: str, port: int | None) -> tuple[Any, str] | None:
    """(the child pool of *pool* for *host*:*port*, the Host header of *pool*'s address)."""
    key = (host, port)
    children = vars(pool).get(_CHILDREN)
    found = None if children is None else children.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    oldest = None
    with _lock:
        if pool.pool is None:  # closed: the pool's own call raises ClosedPoolError
            return None
        children = vars(pool).setdefault(_CHILDREN, {})
        found = children.get(key)
        if found is None:
            child = _copy(pool, host, port)
            if child is None:
                return None
            vars(child)[_PARENT] = weakref.ref(pool)
            found = children[key] = child, _addressed(pool)
            if len(children) > MAX_CHILDREN:
                oldest = children.pop(next(iter(children)))[0]
    if oldest is not None:
        oldest.close()
    return found


def _addressed(pool: HTTPConnectionPool) -> str:
    """The Host header of *pool*'s address, as http.client would send it."""
    host = f"[{pool.host}]" if ":" in pool.host else pool.host
    if pool.port is None or pool.port == port_by_scheme.get(pool.scheme):
        return host
    return f"{host}:{pool.port}"


def route_pool(
    config: LaneConfig, pool: HTTPConnectionPool
) -> tuple[HTTPConnectionPool, str | None, Route | None]:
    """Return (the pool to send a call of *pool* through, the Host header it needs, the route).

    Only a pool that dials its host itself (no proxy) is rerouted; the Host header
    (None when not rerouted) names *pool*'s address. The route is given only when a
    span processor wants it (`lanemap._calls.routed`), else None.
    """
    if pool.proxy is not None:
        return pool, None, None
    found = routed(config, pool.host, pool.port)
    if found is None:
        return pool, None, None
    route, ctx = found
    wanted = None if ctx is None else route
    if not route.rerouted(pool.host, pool.port):
        return pool, None, wanted
    child = _child(pool, route.host, route.port)
    if child is None:
        return pool, None, wanted
    return child[0], child[1], wanted
