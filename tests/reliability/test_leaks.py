"""No lane outlives its request: after a raise, a cancel or a disconnect the worker is clean.

Each server runs with one worker (one waitress thread, one gRPC thread, one event
loop), so the request after the failure runs where the failed one ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import pytest

import lanectx
from lanectx import asgi, wsgi

from ..protos.probe import SyncProbe, protos, services, sync_server
from ..servers import run_uvicorn, run_wsgi
from .report import record

LANE = {"x-lane-id": "pr-66"}


def check(where: str, lane: object) -> None:
    """Record and assert that the request after a failure saw no lane."""
    record("leaks", **{where: "none" if lane in (None, "") else f"LEAK {lane!r}"})
    assert lane in (None, ""), f"{where}: lane {lane!r} outlived its request"


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``/raise`` raises, ``/stream`` raises halfway through its body, ``/`` reports its lane."""
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise RuntimeError("handler failed")
    start_response("200 OK", [("content-type", "application/json")])
    if path == "/stream":

        def body() -> Iterator[bytes]:
            yield b"{"
            raise RuntimeError("body failed")

        return body()
    seen = {"lane": lanectx.current_lane(), "thread": threading.get_ident()}
    return [json.dumps(seen).encode()]


@pytest.mark.parametrize("path", ["/raise", "/stream"])
def test_wsgi_thread_is_clean_after_a_failing_request(path: str) -> None:
    """After a handler or its body raises in a lane, the same thread serves the next with none."""
    with run_wsgi(wsgi.LaneMiddleware(wsgi_app), threads=1) as url, httpx.Client() as client:
        before = client.get(url).json()["thread"]
        with contextlib.suppress(httpx.HTTPError):  # a body failing halfway cuts the connection
            client.get(url + path, headers=LANE)
        after = client.get(url).json()
    assert after["thread"] == before
    check(f"wsgi{path}", after["lane"])


def asgi_app() -> Any:
    """``/raise`` raises; ``/slow`` waits in a task until the client goes; ``/`` reports."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/raise":
            raise RuntimeError("handler failed")
        if scope["path"] == "/slow":
            work = asyncio.create_task(asyncio.sleep(30))
            while (await receive())["type"] != "http.disconnect":
                pass
            work.cancel()
            return
        body = json.dumps({"lane": lanectx.current_lane()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def test_asgi_loop_is_clean_after_a_raise_and_a_disconnect() -> None:
    """After a raising handler and a client gone mid-request, the next request has no lane."""
    with run_uvicorn(asgi.LaneMiddleware(asgi_app())) as url, httpx.Client() as client:
        assert client.get(url + "/raise", headers=LANE).status_code == 500
        check("asgi-raise", client.get(url).json()["lane"])
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nx-lane-id: pr-67\r\n\r\n")
            time.sleep(0.2)
        time.sleep(0.2)
        check("asgi-disconnect", client.get(url).json()["lane"])


@pytest.fixture
def probe() -> Iterator[tuple[Any, SyncProbe]]:
    """A Probe server with one worker thread (lanectx-instrumented) and a stub."""
    assert lanectx.instrument()
    with httpx.Client() as http:
        servicer = SyncProbe(http)
        with sync_server(servicer, workers=1) as target, grpc.insecure_channel(target) as channel:
            yield services.ProbeStub(channel), servicer


def test_grpc_worker_is_clean_after_a_raising_handler(probe: tuple[Any, SyncProbe]) -> None:
    """A handler that raises in a lane leaves its worker thread without one."""
    stub, servicer = probe
    broken = protos.Ask(downstream="http://127.0.0.1:1/refused")
    with pytest.raises(grpc.RpcError):
        stub.Unary(broken, metadata=[("x-lane-id", "pr-68")], timeout=10)
    seen = stub.Unary(protos.Ask(), timeout=10)
    assert len({thread for thread, _, _ in servicer.threads}) == 1
    check("grpc-raise", seen.lane)


def test_grpc_worker_is_clean_after_a_cancelled_stream(probe: tuple[Any, SyncProbe]) -> None:
    """A server stream cancelled by its client mid-way leaves its worker thread without a lane."""
    stub, servicer = probe
    stream = stub.ServerStream(
        protos.Ask(replies=3, hold=True), metadata=[("x-lane-id", "pr-69")], timeout=10
    )
    assert next(stream).lane == "pr-69"
    stream.cancel()
    servicer.gate.set()
    seen = stub.Unary(protos.Ask(), timeout=10)
    assert len({thread for thread, _, _ in servicer.threads}) == 1
    check("grpc-cancel", seen.lane)


def test_thread_pool_worker_is_clean_after_a_raising_task() -> None:
    """A task that raises in a lane leaves the pool's only thread without one."""
    assert lanectx.instrument()

    def fail() -> None:
        raise RuntimeError("task failed")

    with ThreadPoolExecutor(max_workers=1) as pool:
        with lanectx.use_lane("pr-70"):
            failed = pool.submit(fail)
        with pytest.raises(RuntimeError):
            failed.result()
        check("thread-pool-raise", pool.submit(lanectx.current_lane).result())
