"""The Probe test service: stubs generated from probe.proto, servicers, servers, callers.

The Python modules are generated when this module is imported, by
``grpc.protos_and_services`` (grpcio-tools); nothing generated is committed. Each
handler reports the lane current in it, the RPC's metadata, and (when asked) the
headers a downstream HTTP call made with httpx carried.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import httpx

import lanectx

_ROOT = Path(__file__).resolve().parents[2]
protos, services = grpc.protos_and_services(
    str(Path(__file__).with_name("probe.proto").relative_to(_ROOT))
)

SHAPES = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
Metadata = Sequence[tuple[str, str | bytes]]


def _headers(pairs: Iterable[tuple[str, Any]]) -> list[Any]:
    """Headers as sent; binary values as hex."""
    return [protos.Header(name=k, value=v if isinstance(v, str) else v.hex()) for k, v in pairs]


def _seen(ask: Any, context: Any, lane: str | None, downstream: list[Any]) -> Any:
    return protos.Seen(
        tag=ask.tag,
        lane=lane or "",
        metadata=_headers(context.invocation_metadata()),
        downstream=_headers(downstream),
    )


class SyncProbe(services.ProbeServicer):  # type: ignore[misc,name-defined]
    """Probe handlers for `grpc.server`; downstream calls go through *http*."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.gate = threading.Event()
        self.threads: list[tuple[int, str, str]] = []

    def _reply(self, ask: Any, context: Any) -> Any:
        lane = lanectx.current_lane()
        self.threads.append((threading.get_ident(), ask.tag, lane or ""))
        down = self.http.get(ask.downstream).json()["all"] if ask.downstream else []
        return _seen(ask, context, lane, down)

    def Unary(self, ask: Any, context: Any) -> Any:
        """Reply once; release held streams when asked."""
        if ask.release:
            self.gate.set()
        return self._reply(ask, context)

    def ServerStream(self, ask: Any, context: Any) -> Iterator[Any]:
        """Reply ``replies`` times, holding after the first one when asked."""
        for number in range(max(ask.replies, 1)):
            if number == 1 and ask.hold:
                self.gate.wait(10)
            yield self._reply(ask, context)

    def ClientStream(self, asks: Iterator[Any], context: Any) -> Any:
        """Read every request (each with a downstream call); reply for the last."""
        replies = [self._reply(ask, context) for ask in asks]
        return replies[-1]

    def BidiStream(self, asks: Iterator[Any], context: Any) -> Iterator[Any]:
        """Reply to each request."""
        for ask in asks:
            yield self._reply(ask, context)


class AsyncProbe(services.ProbeServicer):  # type: ignore[misc,name-defined]
    """Probe handlers for `grpc.aio.server`; the downstream call runs in a child task."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.gate = asyncio.Event()

    async def _downstream(self, ask: Any) -> list[Any]:
        if not ask.downstream:
            return []
        response = await self.http.get(ask.downstream)
        return list(response.json()["all"])

    async def _reply(self, ask: Any, context: Any) -> Any:
        lane = lanectx.current_lane()
        down = await asyncio.create_task(self._downstream(ask))
        await asyncio.sleep(0)
        return _seen(ask, context, lane, down)

    async def Unary(self, ask: Any, context: Any) -> Any:
        """Reply once; release held streams when asked."""
        if ask.release:
            self.gate.set()
        return await self._reply(ask, context)

    async def ServerStream(self, ask: Any, context: Any) -> AsyncIterator[Any]:
        """Reply ``replies`` times, holding after the first one when asked."""
        for number in range(max(ask.replies, 1)):
            if number == 1 and ask.hold:
                await asyncio.wait_for(self.gate.wait(), 10)
            yield await self._reply(ask, context)

    async def ClientStream(self, asks: AsyncIterator[Any], context: Any) -> Any:
        """Read every request (each with a downstream call); reply for the last."""
        replies = [await self._reply(ask, context) async for ask in asks]
        return replies[-1]

    async def BidiStream(self, asks: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        """Reply to each request."""
        async for ask in asks:
            yield await self._reply(ask, context)


@contextmanager
def sync_server(servicer: Any, interceptors: Sequence[Any] = (), workers: int = 4) -> Iterator[str]:
    """Serve *servicer* with `grpc.server` on 127.0.0.1 port 0; yield the target."""
    pool = ThreadPoolExecutor(max_workers=workers)
    server = grpc.server(pool, interceptors=list(interceptors) or None)
    services.add_ProbeServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None).wait(10)
        pool.shutdown(wait=True)


@contextmanager
def aio_server(
    make_servicer: Callable[[], Any],
    interceptors: Sequence[Any] = (),
    pool: ThreadPoolExecutor | None = None,
) -> Iterator[str]:
    """Serve a servicer with `grpc.aio.server` on its own loop thread; yield the target.

    Plain (non-async) handlers run on *pool*, the server's migration thread pool.
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        stop = state["stop"] = asyncio.Event()
        servicer = make_servicer()
        server = grpc.aio.server(pool, interceptors=list(interceptors) or None)
        try:
            services.add_ProbeServicer_to_server(servicer, server)
            state["port"] = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            ready.set()
            await stop.wait()
        finally:
            ready.set()
            await server.stop(None)
            if isinstance(servicer.http, httpx.AsyncClient):
                await servicer.http.aclose()
            else:
                servicer.http.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        if "port" not in state:
            raise RuntimeError("the grpc.aio server did not start")
        yield f"127.0.0.1:{state['port']}"
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()


def call(stub: Any, shape: str, ask: Any, metadata: Metadata | None = None) -> list[Any]:
    """Make one RPC of *shape* with a sync stub (two requests when streaming); return replies."""
    if shape == "unary_unary":
        return [stub.Unary(ask, metadata=metadata, timeout=10)]
    if shape == "unary_stream":
        return list(stub.ServerStream(ask, metadata=metadata, timeout=10))
    if shape == "stream_unary":
        return [stub.ClientStream(iter([ask, ask]), metadata=metadata, timeout=10)]
    return list(stub.BidiStream(iter([ask, ask]), metadata=metadata, timeout=10))


async def acall(stub: Any, shape: str, ask: Any, metadata: Metadata | None = None) -> list[Any]:
    """Make one RPC of *shape* with an aio stub (two requests when streaming); return replies."""
    md = None if metadata is None else grpc.aio.Metadata(*metadata)
    if shape == "unary_unary":
        return [await stub.Unary(ask, metadata=md, timeout=10)]
    if shape == "unary_stream":
        return [reply async for reply in stub.ServerStream(ask, metadata=md, timeout=10)]
    if shape == "stream_unary":
        return [await stub.ClientStream(iter([ask, ask]), metadata=md, timeout=10)]
    return [reply async for reply in stub.BidiStream(iter([ask, ask]), metadata=md, timeout=10)]


def values(headers: Iterable[Any], name: str) -> list[str]:
    """Return every value of header *name* in a repeated Header field."""
    return [h.value for h in headers if h.name == name]
