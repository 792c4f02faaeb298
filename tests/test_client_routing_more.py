"""Routing without a mesh: one aiohttp session of many lanes, a `PoolManager`'s redirects.

The calls every client makes are in test_client_routing_urllib.py."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import urllib3

import lanectx
from lanectx import LaneConfig

from .servers import CaptureServer


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
