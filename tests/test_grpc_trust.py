"""gRPC trust boundary: a server ignores the lane of a caller it does not trust."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import httpx
import pytest

from lanectx import LaneConfig
from lanectx.grpc import AsyncLaneServerInterceptor, LaneServerInterceptor

from .protos.probe import (
    SHAPES,
    AsyncProbe,
    SyncProbe,
    acall,
    aio_server,
    call,
    protos,
    services,
    sync_server,
)

LANE = (("x-lane-id", "pr-5"),)
TOKEN = (("x-lane-id", "pr-5"), ("x-edge-trust", "s3cret"))
CASES = [
    pytest.param({}, LANE, "pr-5", id="default-trusts-all"),
    pytest.param({"trusted_callers": ("10.0.0.0/8",)}, LANE, "", id="peer-not-in-network"),
    pytest.param({"trusted_callers": ("<loopback>",)}, LANE, "pr-5", id="loopback-trusted"),
    pytest.param({"trust_header": "x-edge-trust"}, LANE, "", id="trust-header-missing"),
    pytest.param(
        {"trust_header": "x-edge-trust", "trust_value": "s3cret"}, TOKEN, "pr-5", id="right-value"
    ),
    pytest.param({"trust_header": "x-edge-trust", "trust_value": "x"}, TOKEN, "", id="wrong-value"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("settings", "metadata", "lane"), CASES)
def test_sync_server_honours_only_trusted_callers(
    settings: dict[str, Any], metadata: Any, lane: str, shape: str
) -> None:
    """A sync server's handler sees the lane only from a trusted caller, in every shape."""
    interceptor = LaneServerInterceptor(LaneConfig(**settings))
    with (
        httpx.Client() as http,
        sync_server(SyncProbe(http), [interceptor]) as target,
        grpc.insecure_channel(target) as channel,
    ):
        replies = call(services.ProbeStub(channel), shape, protos.Ask(tag="t"), metadata)
    assert {reply.lane for reply in replies} == {lane}


@pytest.mark.parametrize(("settings", "metadata", "lane"), CASES)
def test_aio_server_honours_only_trusted_callers(
    settings: dict[str, Any], metadata: Any, lane: str
) -> None:
    """An aio server's handler sees the lane only from a trusted caller."""
    interceptor = AsyncLaneServerInterceptor(LaneConfig(**settings))

    async def one(target: str) -> list[Any]:
        async with grpc.aio.insecure_channel(target) as channel:
            return await acall(services.ProbeStub(channel), "unary_unary", protos.Ask(), metadata)

    with aio_server(lambda: AsyncProbe(httpx.AsyncClient()), [interceptor]) as target:
        replies = asyncio.run(one(target))
    assert {reply.lane for reply in replies} == {lane}
