"""`Request`: the parts of an HTTP request that colouring rules look at.

Built from an ASGI scope, a WSGI environ, or directly (tests, custom servers)::

    request = Request([("host", "aaa.com"), ("cookie", "uid=7")], query="a=1")
    request.host, request.cookie("uid"), request.query("a")  # 'aaa.com', '7', ['1']

Header values are text decoded as latin-1, so ``value.encode("latin-1")`` gives the
bytes that were sent (the bytes that percentage rules hash, as the gateway does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Request"]

_PORT = re.compile(r":[0-9]*$")
_OWS = " \t"


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class Request:
    """Headers (lowercase names, repeats kept), host, cookies and query of one request."""

    __slots__ = ("_cookies", "_headers", "_query", "_query_string", "cache")

    def __init__(
        self, headers: Iterable[tuple[str | bytes, str | bytes]] = (), query: str | bytes = ""
    ) -> None:
        found: dict[str, list[str]] = {}
        for name, value in headers:
            found.setdefault(_text(name).lower(), []).append(_text(value))
        self._headers = found
        self._query_string = _text(query)
        self._query: dict[str, list[str]] | None = None
        self._cookies: dict[str, str] | None = None
        self.cache: dict[object, Any] = {}
        """Per-request memo for matchers (decoded tokens, ...)."""

    @classmethod
    def from_asgi(cls, scope: Mapping[str, Any]) -> Request:
        """Return the request of an ASGI HTTP or WebSocket *scope*."""
        return cls(scope.get("headers") or (), scope.get("query_string") or b"")

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> Request:
        """Return the request of a WSGI *environ*."""
        headers = [
            (key[5:].replace("_", "-"), value)
            for key, value in environ.items()
            if key.startswith("HTTP_") and isinstance(value, str)
        ]
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers.append((key.replace("_", "-"), environ[key]))
        return cls(headers, environ.get("QUERY_STRING") or "")

    def header(self, name: str) -> list[str]:
        """Return every value of header *name* (lowercase), in order; [] if absent."""
        return self._headers.get(name, [])

    @property
    def host(self) -> str | None:
        """The host the request was sent to (``host`` or ``:authority``), lowercase, no port."""
        values = self._headers.get("host") or self._headers.get(":authority")
        if not values:
            return None
        return _PORT.sub("", values[0].strip(_OWS).lower())

    def cookie(self, name: str) -> str | None:
        """Return the value of the first cookie called *name*, or None."""
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for header in self.header("cookie"):
                for part in header.split(";"):
                    key, sep, value = part.strip(_OWS).partition("=")
                    if sep and key not in cookies:
                        cookies[key] = value
            self._cookies = cookies
        return self._cookies.get(name)

    def query(self, name: str) -> list[str]:
        """Return every value of query parameter *name* (decoded), in order."""
        if self._query is None:
            query: dict[str, list[str]] = {}
            for key, value in parse_qsl(self._query_string, keep_blank_values=True):
                query.setdefault(key, []).append(value)
            self._query = query
        return self._query.get(name, [])
