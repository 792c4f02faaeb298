"""Hostile header bytes at real servers (uvicorn, waitress) and hostile gRPC metadata.

Raw sockets send what httpx and requests refuse to: control characters, non-ASCII
bytes, CR/LF inside values. A server may refuse such a request (4xx); neither it
nor lanectx may answer 5xx, and the app sees a valid lane or none.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any

import grpc
import httpx
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import lanectx
from lanectx import asgi, wsgi

from ..protos.probe import SyncProbe, protos, services, sync_server
from ..servers import CaptureServer, run_uvicorn, run_wsgi
from .hostile import FUZZ, baggage, check_seen, hostile, invalid
from .report import fuzz_case

SERVED = settings(FUZZ, max_examples=int(os.environ.get("LANECTX_FUZZ_SERVER_EXAMPLES", "100")))
GRPC_METADATA_LIMIT = 8192
NAMES = ["x-lane-id", "X-Lane-Id", "x-pr-id", "X-PR-ID", "baggage", "Baggage", "x-other"]


def asgi_app(capture_url: str) -> Starlette:
    """Reports the lane and the headers its own httpx call to the capture server carried."""

    async def endpoint(request: Request) -> JSONResponse:
        lane = lanectx.current_lane()
        async with httpx.AsyncClient() as client:
            down = (await client.get(f"{capture_url}/asgi")).json()["headers"]
        return JSONResponse({"lane": lane, "down": down})

    return Starlette(routes=[Route("/", endpoint)])


def wsgi_app(capture_url: str) -> Callable[..., Iterable[bytes]]:
    """Reports the lane and the headers its own requests call to the capture server carried."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        lane = lanectx.current_lane()
        down = requests.get(f"{capture_url}/wsgi", timeout=10).json()["headers"]
        start_response("200 OK", [("content-type", "application/json")])
        return [json.dumps({"lane": lane, "down": down}).encode()]

    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    """A uvicorn and a waitress app behind lanectx's middlewares; their ports by name."""
    with ExitStack() as stack:
        capture = stack.enter_context(CaptureServer())
        a = stack.enter_context(run_uvicorn(asgi.LaneMiddleware(asgi_app(capture.url))))
        w = stack.enter_context(run_wsgi(wsgi.LaneMiddleware(wsgi_app(capture.url)), threads=2))
        yield {"asgi": int(a.rsplit(":", 1)[1]), "wsgi": int(w.rsplit(":", 1)[1])}


def send_raw(port: int, lines: list[bytes]) -> tuple[int, bytes]:
    """Send a GET with header *lines* as raw bytes; return (status, body)."""
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"".join(line + b"\r\n" for line in lines) + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2]


def encode(value: str) -> bytes:
    """A header value as raw bytes: latin-1 when it fits, else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


raw_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r\n", b"\r\n x"))


@st.composite
def header_lines(draw: st.DrawFn, values: st.SearchStrategy[str], crlf: bool) -> list[bytes]:
    """Header lines: lane headers in any case and order, baggage, raw bytes (CR/LF if *crlf*)."""
    lines = [
        draw(st.sampled_from(NAMES)).encode() + b": " + encode(draw(values))
        for _ in range(draw(st.integers(0, 3)))
    ]
    for header in draw(baggage(values))[0]:
        lines.append(b"baggage: " + encode(header))
    if crlf:
        lines.append(draw(st.sampled_from(NAMES)).encode() + b": " + draw(raw_bytes))
    return draw(st.permutations(lines))


def _exchange(port: int, lines: list[bytes]) -> Any:
    """Send *lines* instrumented; never a 5xx; return the app's report on a 200, else None."""
    lanectx.instrument()
    try:
        status, body = send_raw(port, lines)
    finally:
        lanectx.uninstrument()
    assert status < 500, body
    return json.loads(body) if status == 200 else None


@SERVED
@given(st.sampled_from(["asgi", "wsgi"]), header_lines(hostile, crlf=True))
def test_hostile_header_bytes_never_5xx_and_never_forward_a_bad_lane(
    servers: dict[str, int], kind: str, lines: list[bytes]
) -> None:
    """Any header bytes: a 2xx/4xx answer; a 200 shows a valid lane or none, sent on alone."""
    fuzz_case(f"http-{kind}")
    seen = _exchange(servers[kind], lines)
    if seen is not None:
        check_seen(seen["lane"], seen["down"])


@SERVED
@given(st.sampled_from(["asgi", "wsgi"]), header_lines(invalid, crlf=False))
def test_only_invalid_header_bytes_give_no_lane_downstream(
    servers: dict[str, int], kind: str, lines: list[bytes]
) -> None:
    """When every lane source is invalid, the app has no lane and nothing lane-related goes on."""
    fuzz_case(f"http-{kind}-invalid")
    seen = _exchange(servers[kind], lines)
    if seen is not None:
        assert seen["lane"] is None
        check_seen(None, seen["down"])


@pytest.fixture(scope="module")
def probe() -> Iterator[Any]:
    """A Probe server whose handlers call a capture server; a stub on a plain channel."""
    with ExitStack() as stack:
        capture = stack.enter_context(CaptureServer())
        assert lanectx.instrument()
        http = stack.enter_context(httpx.Client())
        target = stack.enter_context(sync_server(SyncProbe(http), workers=2))
        lanectx.uninstrument()  # the server keeps its interceptor; the channel stays plain
        channel = stack.enter_context(grpc.insecure_channel(target))
        yield services.ProbeStub(channel), f"{capture.url}/grpc"


printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
grpc_values = st.one_of(hostile.filter(lambda v: v.isascii() and v.isprintable()), printable)
metadata_keys = st.sampled_from(
    ["x-lane-id", "x-pr-id", "baggage", "x-lane-id-bin", "x-pr-id-bin", "baggage-bin", "x-other"]
)


@st.composite
def metadata(draw: st.DrawFn) -> list[tuple[str, str | bytes]]:
    """gRPC metadata: lane names with hostile text, ``-bin`` twins with arbitrary bytes."""
    pairs: list[tuple[str, str | bytes]] = []
    for _ in range(draw(st.integers(0, 5))):
        key = draw(metadata_keys)
        if key.endswith("-bin"):
            pairs.append((key, draw(st.one_of(st.binary(max_size=64), st.just(b"pr-7")))))
        else:
            pairs.append((key, draw(grpc_values).strip()))
    return pairs


@SERVED
@given(metadata())
def test_hostile_grpc_metadata_never_fails_the_rpc(probe: Any, pairs: Any) -> None:
    """Any metadata: the RPC succeeds, its lane is valid or none, and only it goes downstream."""
    fuzz_case("grpc")
    stub, downstream = probe
    big = sum(len(k) + len(v) for k, v in pairs) > GRPC_METADATA_LIMIT - 1024
    try:
        seen = stub.Unary(protos.Ask(downstream=downstream), metadata=pairs, timeout=10)
    except grpc.RpcError as err:  # only gRPC's own 8 KiB metadata limit may refuse it
        refused = err.code()
    else:
        refused = None
    if refused is not None:
        assert (refused, big) == (grpc.StatusCode.RESOURCE_EXHAUSTED, True)
        return
    headers = {h.name: h.value for h in seen.downstream}
    check_seen(seen.lane or None, headers)
    if all(key.endswith("-bin") or key == "x-other" for key, _ in pairs):
        assert seen.lane == ""
