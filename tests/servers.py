"""Real servers on 127.0.0.1 with port 0, for tests: uvicorn, waitress, a capture server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn
from typing import Any

import uvicorn
from waitress.server import create_server


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    return sock


@contextmanager
def run_uvicorn(app: Any) -> Iterator[str]:
    """Serve an ASGI *app* with uvicorn in a thread; yield its base URL."""
    sock = _listening_socket()
    # A long keep-alive: under heavy load the default 5 s races with a client reusing
    # an idle connection (a reset read on the client side).
    config = uvicorn.Config(
        app, log_level="warning", lifespan="auto", backlog=512, timeout_keep_alive=75
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def run_wsgi(app: Callable[..., Any], threads: int = 8) -> Iterator[str]:
    """Serve a WSGI *app* with waitress (a thread pool) in a thread; yield its base URL.

    The loop runs and is closed in its own thread (closing waitress from another
    thread while it polls raises EBADF there).
    """
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, backlog=512)
    stop = threading.Event()

    def serve() -> None:
        try:
            while not stop.is_set():
                server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        finally:
            server.task_dispatcher.shutdown()
            server.asyncore.close_all(server._map)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(10)


class CaptureServer:
    """An HTTP server that records each request's headers and answers them as JSON.

    ``/redirect?to=URL`` answers 302 to URL (after recording the request).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no delayed-ACK wait between headers and body

            def do_GET(self) -> None:
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "all": [(k.lower(), v) for k, v in self.headers.items()],
                }
                with capture._lock:
                    capture.requests.append(record)
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("location", self.path.split("=", 1)[1])
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                body = json.dumps(record).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CaptureServer:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def run_wsgiref(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI *app* with the standard library's CGI-style server; yield its base URL.

    Unlike waitress it keeps headers spelled with ``_`` (``x_lane_id`` becomes
    ``HTTP_X_LANE_ID``) and joins repeated ones with commas.
    """
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    class Threaded(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server("127.0.0.1", 0, app, server_class=Threaded, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
