"""The isolation stack: client → ASGI → WSGI → gRPC → HTTP capture, every hop reporting its lane.

A (uvicorn, async) fans each request out to an asyncio task, ``run_in_executor``,
``asyncio.to_thread`` and a `ThreadPoolExecutor`, then calls B with a shared
httpx.AsyncClient. B (waitress thread pool) calls the capture server with requests
and the gRPC Probe service over one shared channel: a unary call and a
server-streaming call whose generator yields several replies while other RPCs run.
Each Probe reply makes its own httpx call to the capture server. Nothing forwards a
header by hand: ``lanectx.instrument()`` and the two server middlewares do it all.
The request id travels as data (a query parameter, ``Ask.tag``, the capture path),
so each record can be checked against the lane its request was sent with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import grpc
import httpx
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import lanectx
from lanectx import asgi, wsgi

from ..chain import lane_members
from ..protos.probe import SyncProbe, protos, services, sync_server
from ..servers import CaptureServer, run_uvicorn, run_wsgi

STREAM_REPLIES = 3
NO_LANE = 10  # every NO_LANE-th request carries no lane at all


def lane_of(n: int) -> str | None:
    """Request *n*'s lane: its own ``pr-<n>``, or none for every tenth request."""
    return None if n % NO_LANE == NO_LANE - 1 else f"pr-{n}"


def headers_of(n: int) -> dict[str, str]:
    """Request *n*'s headers, in a rotating inbound form (header, PR number, baggage)."""
    lane = lane_of(n)
    if lane is None:
        return {"baggage": f"a={n}"}
    forms = [{"x-lane-id": lane}, {"x-pr-id": str(n)}, {"baggage": f"a={n},lane={lane}"}]
    return forms[n % 3]


@dataclass
class Load:
    """What the ASGI hop measured: requests in flight now and at most."""

    in_flight: int = 0
    peak: int = 0
    seen: list[int] = field(default_factory=list)

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Count one request in flight (the event loop is one thread: no lock needed)."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1


def service_a(b_url: str, load: Load) -> Starlette:
    """A: report the lane in the handler and in four kinds of concurrent work, then call B."""
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stack-a")
    client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64))

    async def in_task() -> str | None:
        await asyncio.sleep(0)
        return lanectx.current_lane()

    async def endpoint(request: Request) -> JSONResponse:
        with load.request():
            loop = asyncio.get_running_loop()
            seen = {"asgi": lanectx.current_lane()}
            task = asyncio.create_task(in_task())
            seen["run_in_executor"] = await loop.run_in_executor(None, lanectx.current_lane)
            seen["to_thread"] = await asyncio.to_thread(lanectx.current_lane)
            seen["thread_pool"] = await asyncio.wrap_future(pool.submit(lanectx.current_lane))
            seen["task"] = await task
            response = await client.get(f"{b_url}/b", params={"id": request.query_params["id"]})
            return JSONResponse({"a": seen, "b": response.json()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()
        pool.shutdown(wait=False)

    return Starlette(routes=[Route("/a", endpoint)], lifespan=lifespan)


def service_b(capture_url: str, probe: Any) -> Callable[..., Iterable[bytes]]:
    """B (WSGI): report the lane, call the capture server and the gRPC Probe (unary + stream)."""

    sessions = threading.local()  # one keep-alive session per waitress thread

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        tag = parse_qs(environ["QUERY_STRING"])["id"][0]
        lane = lanectx.current_lane()
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        direct = sessions.session.get(f"{capture_url}/b/{tag}", timeout=60).json()["headers"]
        unary = probe.Unary(protos.Ask(tag=tag, downstream=f"{capture_url}/u/{tag}"), timeout=60)
        ask = protos.Ask(tag=tag, downstream=f"{capture_url}/s/{tag}", replies=STREAM_REPLIES)
        stream = list(probe.ServerStream(ask, timeout=60))
        replies = [
            {
                "lane": seen.lane or None,
                "metadata": [h.value for h in seen.metadata if h.name == "x-lane-id"],
                "downstream": {h.name: h.value for h in seen.downstream},
            }
            for seen in (unary, *stream)
        ]
        body = {"lane": lane, "direct": direct, "grpc": replies}
        start_response("200 OK", [("content-type", "application/json")])
        return [json.dumps(body).encode()]

    return app


@dataclass
class Stack:
    """A running stack: the ASGI entry URL, the capture server and A's load figures."""

    url: str
    capture: CaptureServer
    load: Load


@contextmanager
def running_stack(wsgi_threads: int = 32, grpc_workers: int = 16) -> Iterator[Stack]:
    """Instrument lanectx, then start capture, the gRPC Probe, B and A; yield the stack."""
    with ExitStack() as stack:
        assert lanectx.instrument()
        stack.callback(lanectx.uninstrument)
        capture = stack.enter_context(CaptureServer())
        # Its handler writes headers and body apart: without TCP_NODELAY each answer
        # waits out the client's delayed ACK (~40 ms), which would dominate the run.
        capture._server.RequestHandlerClass.disable_nagle_algorithm = True
        http = stack.enter_context(httpx.Client(timeout=60))
        target = stack.enter_context(sync_server(SyncProbe(http), workers=grpc_workers))
        channel = stack.enter_context(grpc.insecure_channel(target))
        probe = services.ProbeStub(channel)
        b_url = stack.enter_context(
            run_wsgi(wsgi.LaneMiddleware(service_b(capture.url, probe)), threads=wsgi_threads)
        )
        load = Load()
        url = stack.enter_context(run_uvicorn(asgi.LaneMiddleware(service_a(b_url, load))))
        yield Stack(url, capture, load)


def mismatches(n: int, answer: dict[str, Any]) -> list[str]:
    """Every place request *n*'s answer shows a lane other than its own (empty: isolated)."""
    lane = lane_of(n)
    members = [lane] if lane else []
    bad = [f"A/{hop}={seen!r}" for hop, seen in answer["a"].items() if seen != lane]
    b = answer["b"]
    if b["lane"] != lane:
        bad.append(f"B={b['lane']!r}")
    direct = b["direct"]
    if direct.get("x-lane-id") != lane or lane_members(direct) != members:
        bad.append(f"B→capture={direct.get('x-lane-id')!r}")
    for index, reply in enumerate(b["grpc"]):
        down = reply["downstream"]
        if reply["lane"] != lane or reply["metadata"] != members:
            bad.append(f"gRPC[{index}]={reply['lane']!r}")
        if down.get("x-lane-id") != lane or lane_members(down) != members:
            bad.append(f"gRPC[{index}]→capture={down.get('x-lane-id')!r}")
    return bad


def capture_mismatches(records: Iterable[dict[str, Any]]) -> list[str]:
    """Every capture record whose lane headers are not those of the request id in its path."""
    bad = []
    for record in records:
        n = int(record["path"].rsplit("/", 1)[1])
        lane = lane_of(n)
        headers = record["headers"]
        if headers.get("x-lane-id") != lane or lane_members(headers) != ([lane] if lane else []):
            bad.append(f"{record['path']}: {headers.get('x-lane-id')!r}")
    return bad


async def drive(url: str, total: int, in_flight: int) -> list[tuple[int, int, Any]]:
    """Send *total* requests to ``url/a``, *in_flight* at a time; return (n, status, json)."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    gate = asyncio.Semaphore(in_flight)

    async def one(client: httpx.AsyncClient, n: int) -> tuple[int, int, Any]:
        async with gate:
            response = await client.get(f"{url}/a", params={"id": n}, headers=headers_of(n))
            body = response.json() if response.status_code == 200 else response.text
            return n, response.status_code, body

    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(*(one(client, n) for n in range(total)))
