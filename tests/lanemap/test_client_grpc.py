"""Client routing of real grpc channels, sync and aio: each call by its own lane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest

import lanectx
from lanectx import LaneConfig
from lanectx.grpc import LaneServerInterceptor

from ..protos.probe import SHAPES, SyncProbe, acall, call, protos, services, sync_server

VERSIONS = ("stable", "pr-31", "pr-32")
# A call's lane -> the version that must serve it.
EXPECTED = {None: "stable", "pr-31": "pr-31", "pr-32": "pr-32", "pr-9": "stable"}
TARGETS = ("reviews:9080", "dns:///reviews.shop.svc.cluster.local:9080")


class Fleet:
    """One Probe server per version of `reviews`, each recording the calls it served."""

    def __init__(self, stack: ExitStack) -> None:
        self.probes: dict[str, SyncProbe] = {}
        self.addresses: dict[str, str] = {}
        for version in VERSIONS:
            probe = SyncProbe(stack.enter_context(httpx.Client()))
            server = sync_server(probe, [LaneServerInterceptor()], workers=8)
            self.addresses[version] = stack.enter_context(server)
            self.probes[version] = probe

    def served_by(self) -> dict[str, str]:
        """Return every tag served so far -> the version that served it."""
        return {tag: v for v, probe in self.probes.items() for _, tag, _ in probe.threads}

    def lanes_seen(self) -> dict[str, str]:
        """Return every tag served so far -> the lane its handler ran in."""
        return {tag: lane for probe in self.probes.values() for _, tag, lane in probe.threads}

    def clear(self) -> None:
        """Forget the calls served."""
        for probe in self.probes.values():
            probe.threads.clear()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    """The three versions of `reviews`, served on 127.0.0.1."""
    with ExitStack() as stack:
        yield Fleet(stack)


@pytest.fixture
def routed(fleet: Fleet, tmp_path: Path) -> Fleet:
    """lanectx instrumented in client routing mode with a map of the fleet's endpoints."""
    fleet.clear()
    lanes = {"services": {"reviews": ["pr-31", "pr-32"]}, "endpoints": {"reviews": fleet.addresses}}
    path = tmp_path / "lanes.json"
    path.write_text(json.dumps(lanes), encoding="utf-8")
    assert lanectx.instrument(LaneConfig(routing="client", lane_map=str(path)))
    return fleet


def sync_calls(target: str, calls: list[tuple[str, str | None]], shape: str = "unary_unary"):
    """Make each (tag, lane) call on one sync channel to *target*, 16 at a time."""

    def one(stub: Any, tag: str, lane: str | None) -> None:
        with lanectx.use_lane(lane):
            call(stub, shape, protos.Ask(tag=tag))

    with grpc.insecure_channel(target) as channel:
        stub = services.ProbeStub(channel)
        with ThreadPoolExecutor(16) as pool:
            for future in [pool.submit(one, stub, tag, lane) for tag, lane in calls]:
                future.result()


def aio_calls(target: str, calls: list[tuple[str, str | None]], shape: str = "unary_unary"):
    """Make each (tag, lane) call on one grpc.aio channel to *target*, all at once."""

    async def one(stub: Any, tag: str, lane: str | None) -> None:
        with lanectx.use_lane(lane):
            await acall(stub, shape, protos.Ask(tag=tag))

    async def run() -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = services.ProbeStub(channel)
            await asyncio.gather(*(one(stub, tag, lane) for tag, lane in calls))

    asyncio.run(run())


CALLERS = {"sync": sync_calls, "aio": aio_calls}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("target", TARGETS)
def test_each_call_goes_to_its_lane_version(
    kind: str, shape: str, target: str, routed: Fleet
) -> None:
    """Every RPC shape reaches the version of its own lane, else stable."""
    calls = [(f"{lane}", lane) for lane in EXPECTED]
    CALLERS[kind](target, calls, shape)
    assert routed.served_by() == {f"{lane}": version for lane, version in EXPECTED.items()}
    assert routed.lanes_seen() == {f"{lane}": lane or "" for lane in EXPECTED}


@pytest.mark.parametrize("kind", CALLERS)
def test_200_concurrent_mixed_lane_calls_over_one_channel(kind: str, routed: Fleet) -> None:
    """200 calls of four lanes at once over one channel: none reaches a wrong version."""
    lanes = list(EXPECTED)
    calls = [(str(number), lanes[number % len(lanes)]) for number in range(200)]
    CALLERS[kind]("reviews:9080", calls)
    served = routed.served_by()
    assert len(served) == 200
    misrouted = [tag for tag, lane in calls if served[tag] != EXPECTED[lane]]
    assert misrouted == []


def test_mesh_mode_leaves_the_channel_alone(fleet: Fleet, tmp_path: Path) -> None:
    """With routing "mesh", a channel is the plain intercepted one and dials its target."""
    fleet.clear()
    lanes = {"services": {"reviews": ["pr-31"]}, "endpoints": {"reviews": fleet.addresses}}
    path = tmp_path / "lanes.json"
    path.write_text(json.dumps(lanes), encoding="utf-8")
    assert lanectx.instrument(LaneConfig(lane_map=str(path)))
    sync_calls(fleet.addresses["stable"], [("a", "pr-31")])
    assert fleet.served_by() == {"a": "stable"}
    with grpc.insecure_channel("reviews:9080") as channel:
        assert type(channel).__name__ != "RoutingChannel"


def test_children_are_bounded_and_closed_with_the_channel(
    routed: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the bound the oldest child is closed; closing the channel closes the rest."""
    from lanectx import _grpc_routing

    monkeypatch.setattr(_grpc_routing, "MAX_CHILDREN", 1)
    channel: Any = grpc.insecure_channel("reviews:9080")
    stub = services.ProbeStub(channel)
    with lanectx.use_lane("pr-31"):
        stub.Unary(protos.Ask(tag="first"), timeout=10)
    (first,) = [child.channel for child in channel._children.values()]
    with lanectx.use_lane("pr-32"):
        stub.Unary(protos.Ask(tag="second"), timeout=10)
    (second,) = [child.channel for child in channel._children.values()]
    assert second is not first
    with pytest.raises(ValueError, match="closed channel"):
        services.ProbeStub(first).Unary(protos.Ask(tag="late"), timeout=10)
    channel.close()
    with pytest.raises(ValueError, match="closed channel"):
        services.ProbeStub(second).Unary(protos.Ask(tag="late"), timeout=10)
    assert routed.served_by() == {"first": "pr-31", "second": "pr-32"}


def test_targets_that_name_no_single_host_are_never_rerouted() -> None:
    """Address lists, IPs in brackets, unix sockets and other schemes are left alone."""
    from lanectx._grpc_routing import split_target

    assert split_target("reviews:9080") == ("", "reviews", 9080)
    assert split_target("dns:///Reviews.shop.svc:9080") == ("dns:///", "reviews.shop.svc", 9080)
    assert split_target("dns:reviews") == ("dns:", "reviews", None)
    for target in ("ipv4:10.0.0.1:80,10.0.0.2:80", "[::1]:80", "unix:/tmp/s", "xds:///x", ""):
        assert split_target(target) is None


def test_an_aio_channel_closes_its_children(routed: Fleet) -> None:
    """Closing a grpc.aio routing channel closes the child channels it made."""

    async def run() -> Any:
        channel: Any = grpc.aio.insecure_channel("reviews:9080")
        stub = services.ProbeStub(channel)
        with lanectx.use_lane("pr-31"):
            await stub.Unary(protos.Ask(tag="aio"), timeout=10)
        (child,) = [item.channel for item in channel._children.values()]
        await channel.close()
        return child.get_state()

    assert asyncio.run(run()) is grpc.ChannelConnectivity.SHUTDOWN
    assert routed.served_by() == {"aio": "pr-31"}


def test_one_channel_follows_the_map_as_it_changes(fleet: Fleet, tmp_path: Path) -> None:
    """A lane added to the map file is routed by an existing channel within about a second."""
    import time

    fleet.clear()
    path = tmp_path / "lanes.json"

    def write(lanes: list[str]) -> None:
        fresh = tmp_path / "lanes.new"
        body = {"services": {"reviews": lanes}, "endpoints": {"reviews": fleet.addresses}}
        fresh.write_text(json.dumps(body), encoding="utf-8")
        fresh.replace(path)

    write([])
    assert lanectx.instrument(LaneConfig(routing="client", lane_map=str(path)))
    with grpc.insecure_channel("reviews:9080") as channel:
        stub = services.ProbeStub(channel)
        with lanectx.use_lane("pr-32"):
            stub.Unary(protos.Ask(tag="before"), timeout=10)
            write(["pr-32"])
            deadline, number = time.monotonic() + 3, 0
            while (
                time.monotonic() < deadline and fleet.served_by().get(f"after-{number}") != "pr-32"
            ):
                number += 1
                stub.Unary(protos.Ask(tag=f"after-{number}"), timeout=10)
                time.sleep(0.05)
    served = fleet.served_by()
    assert served["before"] == "stable"
    assert served[f"after-{number}"] == "pr-32"
