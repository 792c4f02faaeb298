"""Outbound: httpx and requests carry the current lane to allowed hosts, and only there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor

import lanectx
from lanectx import LaneConfig
from lanectx.httpx import AsyncLaneTransport, LaneTransport

from .chain import lane_members
from .otel_order import ORDERS, beside_otel
from .servers import CaptureServer


class ForwardingTransport(httpx.BaseTransport):
    """A user's custom transport: adds a header, then delegates."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["x-custom"] = "1"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _httpx_sync(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with httpx.Client() as client:
        result: dict[str, Any] = client.get(url, headers=headers).json()
    return result


def _httpx_async(url: str, headers: dict[str, str]) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            result: dict[str, Any] = (await client.get(url, headers=headers)).json()
        return result

    return asyncio.run(go())


def _httpx_custom_transport(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(transport=ForwardingTransport()) as client:
        result: dict[str, Any] = client.get(url, headers=headers).json()
    return result


def _requests_session(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with requests.Session() as session:
        result: dict[str, Any] = session.get(url, headers=headers, timeout=10).json()
    return result


def _requests_module(url: str, headers: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(url, headers=headers, timeout=10).json()
    return result


CLIENTS = [_httpx_sync, _httpx_async, _httpx_custom_transport, _requests_session, _requests_module]
Send = Callable[[str, dict[str, str]], dict[str, Any]]


@pytest.fixture(params=CLIENTS, ids=lambda f: f.__name__.lstrip("_"))
def send(request: pytest.FixtureRequest) -> Send:
    """Each client, as a function (url, headers) -> the capture server's record."""
    fn: Send = request.param
    return fn


Start = Callable[..., None]


@pytest.fixture(params=ORDERS)
def start(request: pytest.FixtureRequest) -> Iterator[Start]:
    """A function that instruments lanectx, alone or with OTel's httpx+requests instrumentation.

    OTel's instrumentation injects baggage from the context itself; it is installed
    before or after lanectx's patches.
    """
    with beside_otel(request.param, [HTTPXClientInstrumentor(), RequestsInstrumentor()]) as run:
        yield run


def test_lane_is_sent_as_header_and_one_baggage_member(
    capture: CaptureServer, send: Send, start: Start
) -> None:
    """A current lane goes out as x-lane-id and exactly one lane member, beside other baggage."""
    start()
    with lanectx.use_lane("pr-7"):
        seen = send(f"{capture.url}/c", {"baggage": "a=1,lane=pr-9"})["headers"]
    assert seen["x-lane-id"] == "pr-7"
    assert lane_members(seen) == ["pr-7"]
    if not start.otel:  # type: ignore[attr-defined] # OTel's own injection replaces a hand-set baggage header
        assert "a=1" in seen["baggage"].split(",")


def test_no_lane_means_no_lane_headers(capture: CaptureServer, send: Send) -> None:
    """Without a current lane nothing lane-related is added."""
    lanectx.instrument()
    seen = send(f"{capture.url}/c", {})["headers"]
    assert "x-lane-id" not in seen
    assert lane_members(seen) == []


def test_host_outside_allowlist_gets_no_lane(
    capture: CaptureServer, send: Send, start: Start
) -> None:
    """To a host outside the allowlist: no x-lane-id, no x-pr-id, no lane member; others kept."""
    start(LaneConfig(allowed_hosts=("localhost",)))
    headers = {"x-pr-id": "7", "baggage": "lane=pr-7,a=1"}
    with lanectx.use_lane("pr-7"):
        seen = send(f"{capture.url}/c", headers)["headers"]
        assert lanectx.current_lane() == "pr-7"
    assert "x-lane-id" not in seen
    assert "x-pr-id" not in seen
    assert lane_members(seen) == []
    if not start.otel:  # type: ignore[attr-defined] # OTel's own injection replaces the header
        assert seen["baggage"] == "a=1"


def test_allowed_host_is_checked_per_redirect_hop(capture: CaptureServer, send: Send) -> None:
    """A redirect from an allowed host to a disallowed one drops the lane on the second hop."""
    lanectx.instrument(LaneConfig(allowed_hosts=("localhost",)))
    target = f"{capture.url}/landed"
    start = f"http://localhost:{capture.port}/redirect?to={target}"
    with lanectx.use_lane("pr-7"):
        if send in (_httpx_sync, _httpx_async, _httpx_custom_transport):
            with httpx.Client(follow_redirects=True) as client:
                client.get(start)
        else:
            send(start, {})
    first, second = capture.requests[-2:]
    assert first["headers"]["x-lane-id"] == "pr-7"
    assert second["path"] == "/landed"
    assert "x-lane-id" not in second["headers"]
    assert lane_members(second["headers"]) == []


def test_clients_created_before_instrument_are_covered(capture: CaptureServer) -> None:
    """A client built before instrument() sends the lane, and stops after uninstrument()."""
    client = httpx.Client()
    session = requests.Session()
    try:
        lanectx.instrument()
        with lanectx.use_lane("pr-3"):
            assert client.get(f"{capture.url}/c").json()["headers"]["x-lane-id"] == "pr-3"
            assert session.get(f"{capture.url}/c").json()["headers"]["x-lane-id"] == "pr-3"
            lanectx.uninstrument()
            assert "x-lane-id" not in client.get(f"{capture.url}/c").json()["headers"]
            assert "x-lane-id" not in session.get(f"{capture.url}/c").json()["headers"]
    finally:
        client.close()
        session.close()


def test_lane_transport_works_without_instrument(capture: CaptureServer) -> None:
    """LaneTransport and AsyncLaneTransport carry the lane with no global patching."""
    with lanectx.use_lane("pr-4"):
        with httpx.Client(transport=LaneTransport(httpx.HTTPTransport())) as client:
            seen = client.get(f"{capture.url}/c").json()["headers"]

        async def go() -> dict[str, Any]:
            transport = AsyncLaneTransport(httpx.AsyncHTTPTransport())
            async with httpx.AsyncClient(transport=transport) as client:
                result: dict[str, Any] = (await client.get(f"{capture.url}/c")).json()
            return result

        seen_async = asyncio.run(go())["headers"]
    assert seen["x-lane-id"] == seen_async["x-lane-id"] == "pr-4"
    assert lane_members(seen) == lane_members(seen_async) == ["pr-4"]


def test_seed_compatible_config_sends_pr_id_and_pr_id_baggage(capture: CaptureServer) -> None:
    """With header x-pr-id and baggage key pr_id, the lane travels as x-pr-id: 123, pr_id=123."""
    config = LaneConfig(
        lane_headers=("x-pr-id",), pr_headers=(), outbound_header="x-pr-id", baggage_key="pr_id"
    )
    lanectx.instrument(config)
    with lanectx.use_lane("123"):
        seen = requests.get(f"{capture.url}/c", timeout=10).json()["headers"]
    assert seen["x-pr-id"] == "123"
    assert "x-lane-id" not in seen
    assert lane_members(seen, "pr_id") == ["123"]
    assert lane_members(seen, "lane") == []
