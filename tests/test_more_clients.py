"""Outbound: aiohttp, urllib3 and urllib.request carry the lane to allowed hosts, and only there."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
import requests
import urllib3
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

import lanectx
import lanectx.urllib3
from lanectx import LaneConfig

from .chain import lane_members
from .otel_order import ORDERS, beside_otel
from .servers import CaptureServer

Send = Callable[[str, dict[str, str]], dict[str, Any]]


def _aiohttp(url: str, headers: dict[str, str]) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            result: dict[str, Any] = await r.json()
        return result

    return asyncio.run(go())


def _urllib3_pool_manager(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with urllib3.PoolManager() as pool:
        result: dict[str, Any] = pool.request("GET", url, headers=headers).json()
    return result


def _urllib3_connection_pool(url: str, headers: dict[str, str]) -> dict[str, Any]:
    parsed = urllib3.util.parse_url(url)
    with urllib3.HTTPConnectionPool(parsed.host, parsed.port) as pool:
        result: dict[str, Any] = pool.urlopen("GET", parsed.request_uri, None, headers).json()
    return result


def _urllib3_module(url: str, headers: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = urllib3.request("GET", url, headers=headers).json()
    return result


def _urllib_urlopen(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        result: dict[str, Any] = json.loads(r.read())
    return result


CLIENTS = [_aiohttp, _urllib3_pool_manager, _urllib3_connection_pool, _urllib3_module]
CLIENTS.append(_urllib_urlopen)


@pytest.fixture(params=CLIENTS, ids=lambda f: f.__name__.lstrip("_"))
def send(request: pytest.FixtureRequest) -> Send:
    """Each client, as a function (url, headers) -> the capture server's record."""
    fn: Send = request.param
    return fn


@pytest.fixture(params=ORDERS)
def start(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """Instrument lanectx alone, or with OTel's aiohttp-client and urllib3 instrumentation."""
    with beside_otel(request.param, [AioHttpClientInstrumentor(), URLLib3Instrumentor()]) as run:
        yield run


def _count(record: dict[str, Any], name: str) -> int:
    return sum(1 for key, _ in record["all"] if key == name)


def test_lane_is_sent_once_as_header_and_baggage_member(
    capture: CaptureServer, send: Send, start: Callable[..., None]
) -> None:
    """A current lane goes out as one x-lane-id and exactly one lane member."""
    start()
    with lanectx.use_lane("pr-7"):
        record = send(f"{capture.url}/c", {"baggage": "lane=pr-9"})
    assert record["headers"]["x-lane-id"] == "pr-7"
    assert _count(record, "x-lane-id") == 1
    assert lane_members(record["headers"]) == ["pr-7"]


def test_other_baggage_members_pass_unchanged(capture: CaptureServer, send: Send) -> None:
    """Baggage members the caller set beside the lane are sent as they were."""
    lanectx.instrument()
    with lanectx.use_lane("pr-7"):
        seen = send(f"{capture.url}/c", {"baggage": "a=1,lane=pr-9"})["headers"]
    assert "a=1" in seen["baggage"].split(",")
    assert lane_members(seen) == ["pr-7"]


def test_no_lane_means_no_lane_headers(capture: CaptureServer, send: Send) -> None:
    """Without a current lane nothing lane-related is added."""
    lanectx.instrument()
    seen = send(f"{capture.url}/c", {})["headers"]
    assert "x-lane-id" not in seen
    assert lane_members(seen) == []


def test_caller_set_lane_headers_are_stripped_for_foreign_hosts(
    capture: CaptureServer, send: Send, start: Callable[..., None]
) -> None:
    """To a host outside the allowlist no lane header or member leaves, even one the caller set."""
    start(LaneConfig(allowed_hosts=("localhost",)))
    headers = {"X-Lane-Id": "pr-7", "x-pr-id": "7", "baggage": "lane=pr-7"}
    with lanectx.use_lane("pr-7"):
        seen = send(f"{capture.url}/c", headers)["headers"]
    assert "x-lane-id" not in seen
    assert "x-pr-id" not in seen
    assert lane_members(seen) == []


def test_allowed_host_is_checked_per_redirect_hop(capture: CaptureServer, send: Send) -> None:
    """A redirect from an allowed host to a disallowed one drops the lane on the second hop."""
    lanectx.instrument(LaneConfig(allowed_hosts=("localhost",)))
    target = f"{capture.url}/landed"
    first_url = f"http://localhost:{capture.port}/redirect?to={target}"
    with lanectx.use_lane("pr-7"):
        if send is _urllib3_connection_pool:
            with urllib3.PoolManager() as pool:  # a single pool refuses a redirect elsewhere
                pool.request("GET", first_url)
        else:
            send(first_url, {})
    first, second = capture.requests[-2:]
    assert first["headers"]["x-lane-id"] == "pr-7"
    assert second["path"] == "/landed"
    assert "x-lane-id" not in second["headers"]
    assert lane_members(second["headers"]) == []


def test_caller_headers_are_not_changed_in_place(capture: CaptureServer) -> None:
    """The caller's header dict and a pool's default headers do not keep the lane."""
    lanectx.instrument()
    defaults = {"x-default": "1"}
    mine = {"x-mine": "1"}
    with urllib3.PoolManager(headers=defaults) as pool, lanectx.use_lane("pr-7"):
        assert pool.request("GET", f"{capture.url}/c").json()["headers"]["x-lane-id"] == "pr-7"
        pool.request("GET", f"{capture.url}/c", headers=mine)
        request = urllib.request.Request(f"{capture.url}/c", headers=mine)
        urllib.request.urlopen(request, timeout=10).close()
    assert defaults == {"x-default": "1"}
    assert mine == {"x-mine": "1"}
    assert request.headers == {"X-mine": "1"}


def test_requests_over_urllib3_decides_once(
    capture: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under requests the urllib3 hop does not prepare the headers again: one lane header."""
    calls: list[str | None] = []
    real = lanectx.urllib3.prepare_request

    def counting(config: LaneConfig, host: str | None, headers: Any, add: Any = None) -> Any:
        calls.append(host)
        return real(config, host, headers, add)

    monkeypatch.setattr(lanectx.urllib3, "prepare_request", counting)
    lanectx.instrument()
    with lanectx.use_lane("pr-7"):
        record = requests.get(f"{capture.url}/c", timeout=10).json()
        with urllib3.PoolManager() as pool:
            pool.request("GET", f"{capture.url}/c")
    assert _count(record, "x-lane-id") == 1
    assert lane_members(record["headers"]) == ["pr-7"]
    assert calls == ["127.0.0.1"]  # the direct urllib3 call only


def test_uninstrument_stops_every_client(capture: CaptureServer, send: Send) -> None:
    """After uninstrument() no client sends the lane."""
    lanectx.instrument()
    lanectx.uninstrument()
    with lanectx.use_lane("pr-7"):
        assert "x-lane-id" not in send(f"{capture.url}/c", {})["headers"]


def test_concurrent_aiohttp_calls_keep_their_own_lanes(capture: CaptureServer) -> None:
    """Many concurrent aiohttp calls on one session each carry their own task's lane."""
    lanectx.instrument()

    async def one(session: aiohttp.ClientSession, n: int) -> tuple[str, str]:
        with lanectx.use_lane(f"pr-{n}"):
            await asyncio.sleep(0)
            async with session.get(f"{capture.url}/c/pr-{n}") as response:
                record = await response.json()
        return record["path"].rsplit("/", 1)[1], record["headers"]["x-lane-id"]

    async def go() -> list[tuple[str, str]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(*(one(session, n) for n in range(30)))

    pairs = asyncio.run(go())
    assert len(pairs) == 30
    assert all(path == lane for path, lane in pairs)


def test_concurrent_urllib3_threads_keep_their_own_lanes(capture: CaptureServer) -> None:
    """Threads sharing one PoolManager each send their own lane."""
    lanectx.instrument()
    seen: dict[int, str] = {}
    with urllib3.PoolManager(maxsize=4) as pool:

        def one(n: int) -> None:
            with lanectx.use_lane(f"pr-{n}"):
                headers = pool.request("GET", f"{capture.url}/c").json()["headers"]
            seen[n] = headers["x-lane-id"]

        threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert seen == {n: f"pr-{n}" for n in range(12)}


def test_repeated_urllib3_headers_keep_every_value(capture: CaptureServer) -> None:
    """A header the caller repeats in an HTTPHeaderDict is sent with all its values."""
    lanectx.instrument()
    headers = urllib3.HTTPHeaderDict()
    headers.add("x-many", "1")
    headers.add("x-many", "2")
    with urllib3.PoolManager() as pool, lanectx.use_lane("pr-7"):
        record = pool.request("GET", f"{capture.url}/c", headers=headers).json()
    assert record["headers"]["x-lane-id"] == "pr-7"
    assert [value for name, value in record["all"] if name == "x-many"] == ["1", "2"]
    assert "x-lane-id" not in headers
