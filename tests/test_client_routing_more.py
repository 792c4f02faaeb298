"""Routing without a mesh: aiohttp and urllib3 calls go where the lane map sends them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import urllib3

import lanectx
from lanectx import LaneConfig

from .servers import CaptureServer

Send = Callable[[str], dict[str, Any]]


def _aiohttp(url: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            result: dict[str, Any] = await response.json()
        return result

    return asyncio.run(go())


def _pool_manager(url: str) -> dict[str, Any]:
    with urllib3.PoolManager() as pool:
        result: dict[str, Any] = pool.request("GET", url).json()
    return result


def _urllib3_module(url: str) -> dict[str, Any]:
    result: dict[str, Any] = urllib3.request("GET", url).json()
    return result


@pytest.fixture(params=[_aiohttp, _pool_manager, _urllib3_module], ids=lambda f: f.__name__[1:])
def send(request: pytest.FixtureRequest) -> Send:
    """Each client, as a function url -> the record of the server that answered."""
    fn: Send = request.param
    return fn


def _where(capture: CaptureServer, lane_server: CaptureServer) -> str:
    landed = [name for name, s in (("stable", capture), ("lane", lane_server)) if s.requests]
    assert len(landed) == 1, landed
    return landed[0]


@pytest.mark.parametrize(
    ("lane", "expected"), [("pr-31", "lane"), ("pr-9", "stable"), (None, "stable")]
)
def test_call_goes_to_the_lane_version_only_when_the_map_has_it(
    capture: CaptureServer,
    lane_server: CaptureServer,
    lane_map: Path,
    send: Send,
    lane: str | None,
    expected: str,
) -> None:
    """pr-31 reaches its version; a lane without one, and no lane, reach stable."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    with lanectx.use_lane(lane) if lane else contextlib.nullcontext():
        record = send(f"http://localhost:{capture.port}/c")
    assert _where(capture, lane_server) == expected
    if lane is not None:
        assert record["headers"]["x-lane-id"] == lane  # the lane headers are sent as usual
    # The version reached is asked for the address the caller used (docs/meshless.md).
    assert record["headers"]["host"] == f"localhost:{capture.port}"


def test_mesh_mode_never_reroutes(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send
) -> None:
    """With the default routing (mesh) the map is not used: the call dials what it names."""
    lanectx.instrument(LaneConfig(lane_map=str(lane_map)))
    with lanectx.use_lane("pr-31"):
        send(f"http://localhost:{capture.port}/c")
    assert _where(capture, lane_server) == "stable"


def test_host_outside_the_allowlist_is_never_rerouted(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send
) -> None:
    """A host lanes may not reach is dialled as addressed, and gets no lane."""
    config = LaneConfig(routing="client", lane_map=str(lane_map), allowed_hosts=("other",))
    lanectx.instrument(config)
    with lanectx.use_lane("pr-31"):
        record = send(f"http://localhost:{capture.port}/c")
    assert _where(capture, lane_server) == "stable"
    assert "x-lane-id" not in record["headers"]


def test_one_aiohttp_session_routes_each_call_by_its_lane(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path
) -> None:
    """Concurrent calls on one session go to the lane version or stable, call by call."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        with lanectx.use_lane("pr-31") if n % 2 else contextlib.nullcontext():
            async with session.get(f"http://localhost:{capture.port}/c/{n}") as response:
                await response.read()

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(one(session, n) for n in range(20)))

    asyncio.run(go())
    assert sorted(int(r["path"].rsplit("/", 1)[1]) for r in lane_server.requests) == list(
        range(1, 20, 2)
    )
    assert sorted(int(r["path"].rsplit("/", 1)[1]) for r in capture.requests) == list(
        range(0, 20, 2)
    )


def test_pool_manager_routes_each_redirect_hop(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path
) -> None:
    """A redirect back to the service is routed again: both hops reach the lane version."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    target = f"http://localhost:{capture.port}/landed"
    with urllib3.PoolManager() as pool, lanectx.use_lane("pr-31"):
        pool.request("GET", f"http://localhost:{capture.port}/redirect?to={target}")
    assert [r["path"] for r in lane_server.requests] == [f"/redirect?to={target}", "/landed"]
    assert capture.requests == []
