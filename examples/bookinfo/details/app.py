"""The details WSGI app: ``GET /details/<id>`` and ``GET /healthz``.

For example::

    from details.app import make_app
    app = make_app("pr-7")   # reports that version in every answer
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["BOOKS", "make_app"]

BOOKS: dict[int, dict[str, Any]] = {
    0: {
        "author": "Ada Lindqvist",
        "year": 2019,
        "type": "paperback",
        "pages": 212,
        "publisher": "Loopback Press",
        "language": "English",
        "isbn": "978-0-00-000031-4",
    },
}


def make_app(version: str) -> Callable[..., Iterable[bytes]]:
    """Return the WSGI app of the details service, answering as *version*."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        status, body = "404 Not Found", {"error": f"no route {path}"}
        if path == "/healthz":
            status, body = "200 OK", {"status": "ok", "version": version}
        elif path.startswith("/details/"):
            key = path.removeprefix("/details/")
            book = BOOKS.get(int(key)) if key.isdigit() else None
            if book is not None:
                status, body = "200 OK", {"id": int(key), **book, "served_by": version}
            else:
                body = {"error": f"no book {key!r}"}
        data = json.dumps(body).encode()
        start_response(
            status, [("content-type", "application/json"), ("content-length", str(len(data)))]
        )
        return [data]

    return app
