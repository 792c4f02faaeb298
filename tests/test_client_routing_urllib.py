"""Routing without a mesh: urllib.request, urllib3 (pools used directly, `PoolManager`,
``urllib3.request``) and aiohttp calls go where the lane map sends them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import urllib3
from urllib3.connectionpool import HTTPConnectionPool

import lanectx
from lanectx import LaneConfig

from .conftest import write_lane_map
from .servers import CaptureServer

Send = Callable[[int, str], dict[str, Any]]  # (port, path) -> the answering server's record


def _urlopen(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://localhost:{port}{path}", timeout=10) as response:
        result: dict[str, Any] = json.load(response)
    return result


def _opener(port: int, path: str) -> dict[str, Any]:
    opener = urllib.request.build_opener()
    request = urllib.request.Request(f"http://localhost:{port}{path}", headers={"X-Own": "1"})
    with opener.open(request, timeout=10) as response:
        result: dict[str, Any] = json.load(response)
    return result


def _pool(port: int, path: str) -> dict[str, Any]:
    with HTTPConnectionPool("localhost", port, maxsize=2) as pool:
        result: dict[str, Any] = pool.request("GET", path).json()
    return result


def _pool_absolute_url(port: int, path: str) -> dict[str, Any]:
    with urllib3.connection_from_url(f"http://localhost:{port}") as pool:
        response = pool.urlopen("GET", f"http://localhost:{port}{path}")
        result: dict[str, Any] = json.loads(response.data)
    return result


def _aiohttp(port: int, path: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://localhost:{port}{path}") as response,
        ):
            result: dict[str, Any] = await response.json()
        return result

    return asyncio.run(go())


def _pool_manager(port: int, path: str) -> dict[str, Any]:
    with urllib3.PoolManager() as pool:
        result: dict[str, Any] = pool.request("GET", f"http://localhost:{port}{path}").json()
    return result


def _urllib3_module(port: int, path: str) -> dict[str, Any]:
    result: dict[str, Any] = urllib3.request("GET", f"http://localhost:{port}{path}").json()
    return result


CLIENTS = [
    _urlopen,
    _opener,
    _pool,
    _pool_absolute_url,
    _aiohttp,
    _pool_manager,
    _urllib3_module,
]


@pytest.fixture(params=CLIENTS, ids=lambda f: f.__name__[1:])
def send(request: pytest.FixtureRequest) -> Send:
    """Each client, as a function (port, path) -> the record of the server that answered."""
    fn: Send = request.param
    return fn


def _where(capture: CaptureServer, lane_server: CaptureServer) -> list[str]:
    return [name for name, s in (("stable", capture), ("lane", lane_server)) if s.requests]


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
        record = send(capture.port, "/c")
    assert _where(capture, lane_server) == [expected]
    if lane is not None:
        assert record["headers"]["x-lane-id"] == lane  # the lane headers are sent as usual
    else:
        assert "x-lane-id" not in record["headers"]
    # The version reached is asked for the address the caller used (docs/meshless.md).
    assert [v for k, v in record["all"] if k == "host"] == [f"localhost:{capture.port}"]


def test_mesh_mode_never_reroutes(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send
) -> None:
    """With the default routing (mesh) the map is not used: the call dials what it names."""
    lanectx.instrument(LaneConfig(lane_map=str(lane_map)))
    with lanectx.use_lane("pr-31"):
        record = send(capture.port, "/c")
    assert _where(capture, lane_server) == ["stable"]
    assert record["headers"]["x-lane-id"] == "pr-31"


def test_host_outside_the_allowlist_is_never_rerouted(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send
) -> None:
    """A host lanes may not reach is dialled as addressed, and gets no lane."""
    config = LaneConfig(routing="client", lane_map=str(lane_map), allowed_hosts=("other",))
    lanectx.instrument(config)
    with lanectx.use_lane("pr-31"):
        record = send(capture.port, "/c")
    assert _where(capture, lane_server) == ["stable"]
    assert "x-lane-id" not in record["headers"]


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_each_redirect_hop_is_routed_again(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send, form: str
) -> None:
    """A redirect back to the service is decided again: both hops reach the lane version."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    target = f"http://localhost:{capture.port}/landed" if form == "absolute" else "/landed"
    with lanectx.use_lane("pr-31"):
        record = send(capture.port, f"/redirect?to={target}")
    assert [r["path"] for r in lane_server.requests] == [f"/redirect?to={target}", "/landed"]
    assert capture.requests == []
    assert record["headers"]["host"] == f"localhost:{capture.port}"


# A pool given an absolute URL sends it as the request target when not rerouted (the
# capture server then answers instead of redirecting); a rerouted call sends its path.
@pytest.mark.parametrize("client", [_urlopen, _opener, _pool], ids=lambda f: f.__name__[1:])
def test_a_redirect_hop_outside_a_lane_goes_to_stable(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, client: Send
) -> None:
    """Without a lane both hops of a redirect stay on stable."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    client(capture.port, "/redirect?to=/landed")
    assert [r["path"] for r in capture.requests] == ["/redirect?to=/landed", "/landed"]
    assert lane_server.requests == []


def test_the_map_is_reloaded(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, send: Send
) -> None:
    """A lane added to the map file is routed within about a second, with no restart."""
    write_lane_map(lane_map, [], lane_server)
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    with lanectx.use_lane("pr-31"):
        send(capture.port, "/before")
        assert _where(capture, lane_server) == ["stable"]
        write_lane_map(lane_map, ["pr-31"], lane_server)
        deadline = time.monotonic() + 3
        while not lane_server.requests and time.monotonic() < deadline:
            send(capture.port, "/after")
            time.sleep(0.05)
    assert [r["path"] for r in lane_server.requests] == ["/after"]


def test_one_pool_serves_calls_of_many_lanes(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path
) -> None:
    """One pool used directly sends each call to its own lane's version or to stable."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    with HTTPConnectionPool("localhost", capture.port) as pool:
        for n in range(6):
            with lanectx.use_lane("pr-31") if n % 2 else contextlib.nullcontext():
                assert pool.request("GET", f"/c/{n}").status == 200
    assert [r["path"] for r in lane_server.requests] == ["/c/1", "/c/3", "/c/5"]
    assert [r["path"] for r in capture.requests] == ["/c/0", "/c/2", "/c/4"]


def test_child_pools_are_bounded_and_closed_with_their_pool(
    capture: CaptureServer,
    lane_server: CaptureServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond the bound the oldest child pool is closed; closing the pool closes the rest."""
    from lanectx import _urllib3_routes

    monkeypatch.setattr(_urllib3_routes, "MAX_CHILDREN", 2)
    path = tmp_path / "lanes.json"
    endpoints = {
        "pr-1": f"127.0.0.1:{lane_server.port}",
        "pr-2": f"localhost:{lane_server.port}",
        "pr-3": f"127.0.0.1:{capture.port}",
    }
    services = {"services": {"localhost": list(endpoints)}, "endpoints": {"localhost": endpoints}}
    path.write_text(json.dumps(services))
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(path)))
    pool = HTTPConnectionPool("localhost", capture.port)
    children = []
    for lane in endpoints:
        with lanectx.use_lane(lane):
            response = pool.request("GET", "/c")
        assert response.status == 200
        children.append(response._pool)
    assert len({id(child) for child in children}) == 3
    assert all(child is not pool for child in children)
    assert children[0].pool is None  # the oldest, closed beyond the bound
    assert [child.pool is None for child in children[1:]] == [False, False]
    pool.close()
    assert [child.pool is None for child in children] == [True, True, True]
    assert (len(lane_server.requests), len(capture.requests)) == (2, 1)


def test_an_unreachable_lane_version_fails_with_the_pool_own_error(
    capture: CaptureServer, tmp_path: Path
) -> None:
    """Retries of a routed call go back through the pool: its retry limit ends them."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    path = tmp_path / "lanes.json"
    endpoints = {"localhost": {"pr-31": f"127.0.0.1:{closed_port}"}}
    path.write_text(json.dumps({"services": {"localhost": ["pr-31"]}, "endpoints": endpoints}))
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(path)))
    retries = urllib3.Retry(total=2, backoff_factor=0)
    with HTTPConnectionPool("localhost", capture.port, retries=retries) as pool:
        with lanectx.use_lane("pr-31"), pytest.raises(urllib3.exceptions.MaxRetryError):
            pool.request("GET", "/c")
        assert pool.request("GET", "/c").status == 200  # no lane: stable, still usable
    assert [r["path"] for r in capture.requests] == ["/c"]


@pytest.mark.parametrize("through", ["pool", "PoolManager"])
def test_the_client_span_says_where_the_call_went(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path, through: str
) -> None:
    """OTel's urllib3 span (installed first) of a routed call names version and reason,
    for a pool used directly and for a `PoolManager`."""
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from lanectx.telemetry import LaneSpanProcessor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = URLLib3Instrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
        pool: Any = HTTPConnectionPool("localhost", capture.port)
        path = "/c" if through == "pool" else f"http://localhost:{capture.port}/c"
        if through == "PoolManager":
            pool = urllib3.PoolManager()
        with pool:
            for lane in ("pr-31", None, "pr-9"):
                with lanectx.use_lane(lane) if lane else contextlib.nullcontext():
                    pool.request("GET", path)
    finally:
        lanectx.uninstrument()
        instrumentor.uninstrument()
    routes = [
        (span.attributes.get("lane.route.version"), span.attributes.get("lane.route.reason"))
        for span in exporter.get_finished_spans()
        if span.attributes is not None
    ]
    assert routes == [
        ("pr-31", "lane-version"),
        ("stable", "no-lane"),
        ("stable", "lane-not-deployed"),
    ]
    assert (len(lane_server.requests), len(capture.requests)) == (1, 2)


def test_a_url_for_another_host_gets_the_pool_own_error(
    capture: CaptureServer, lane_server: CaptureServer, lane_map: Path
) -> None:
    """A routed pool given another host's URL refuses it as urllib3 does; nothing is sent."""
    lanectx.instrument(LaneConfig(routing="client", lane_map=str(lane_map)))
    other = f"http://127.0.0.1:{lane_server.port}/c"
    with (
        HTTPConnectionPool("localhost", capture.port) as pool,
        lanectx.use_lane("pr-31"),
        pytest.raises(urllib3.exceptions.HostChangedError),
    ):
        pool.urlopen("GET", other, retries=False)
    assert (capture.requests, lane_server.requests) == ([], [])
