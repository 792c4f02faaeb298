"""gRPC clients: metadata merged with the caller's, targets checked, `instrument()` wiring."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest
from opentelemetry import baggage, context

import lanectx
from lanectx import LaneConfig
from lanectx._grpc_client import target_hosts
from lanectx.grpc import (
    AsyncLaneServerInterceptor,
    LaneClientInterceptor,
    LaneServerInterceptor,
    async_client_interceptors,
)

from .protos.probe import AsyncProbe, SyncProbe, acall, aio_server, call, protos, services
from .protos.probe import sync_server as run_sync_server
from .protos.probe import values as header_values
from .test_grpc import lane_members

KINDS = ("sync", "aio")
NO_HOSTS = LaneConfig(allowed_hosts=("reviews",))


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A hand-wired Probe server, sync or aio: (kind, target)."""
    with ExitStack() as stack:
        if request.param == "sync":
            servicer = SyncProbe(stack.enter_context(httpx.Client()))
            target = stack.enter_context(run_sync_server(servicer, [LaneServerInterceptor()]))
        else:
            target = stack.enter_context(
                aio_server(lambda: AsyncProbe(httpx.AsyncClient()), [AsyncLaneServerInterceptor()])
            )
        yield request.param, target


def unary(kind: str, target: str, metadata: Any = None, config: LaneConfig | None = None) -> Any:
    """One unary RPC through a hand-wired channel of *kind*; return the reply."""
    ask = protos.Ask()
    if kind == "sync":
        interceptor = LaneClientInterceptor(target, config)
        with grpc.intercept_channel(grpc.insecure_channel(target), interceptor) as channel:
            return call(services.ProbeStub(channel), "unary_unary", ask, metadata)[0]

    async def run() -> Any:
        ours = async_client_interceptors(target, config)
        async with grpc.aio.insecure_channel(target, interceptors=ours) as channel:
            return (await acall(services.ProbeStub(channel), "unary_unary", ask, metadata))[0]

    return asyncio.run(run())


def pairs(seen: Any) -> list[tuple[str, str]]:
    """The metadata the server got, without gRPC's own entries."""
    return [(h.name, h.value) for h in seen.metadata if h.name != "user-agent"]


CALLER = [
    ("baggage", "a=1"),
    ("x-lane-id", "pr-1"),
    ("x-custom", "kept"),
    ("trace-bin", b"\x00\x01"),
    ("baggage", "b=2;p=1"),
]


def test_lane_is_merged_with_caller_metadata(server: tuple[str, str]) -> None:
    """The lane replaces a stale x-lane-id and joins one baggage entry; nothing else is lost."""
    with lanectx.use_lane("pr-7"):
        seen = unary(*server, metadata=CALLER)
    assert seen.lane == "pr-7"
    assert pairs(seen) == [
        ("baggage", "a=1,b=2;p=1,lane=pr-7"),
        ("x-lane-id", "pr-7"),
        ("x-custom", "kept"),
        ("trace-bin", "0001"),
    ]


def test_caller_lane_member_is_replaced_not_repeated(server: tuple[str, str]) -> None:
    """A caller's own ``lane`` baggage member gives way to the current lane: one member."""
    with lanectx.use_lane("pr-7"):
        seen = unary(*server, metadata=[("baggage", "lane=pr-1,c=3")])
    assert header_values(seen.metadata, "baggage") == ["c=3,lane=pr-7"]
    assert lane_members(seen.metadata) == ["pr-7"]


def test_without_lane_caller_metadata_is_sent_unchanged(server: tuple[str, str]) -> None:
    """With no lane current, the caller's metadata goes out as given (aio groups by name)."""
    seen = unary(*server, metadata=CALLER)
    sent = [(k, v if isinstance(v, str) else v.hex()) for k, v in CALLER]
    assert sorted(pairs(seen)) == sorted(sent)
    assert seen.lane == "pr-1"


def test_disallowed_target_gets_no_lane(server: tuple[str, str]) -> None:
    """To a host outside the allowed list every lane entry is removed; the rest still goes."""
    with lanectx.use_lane("pr-7"):
        seen = unary(*server, metadata=[*CALLER, ("x-pr-id", "7")], config=NO_HOSTS)
    assert seen.lane == ""
    assert pairs(seen) == [
        ("baggage", "a=1,b=2;p=1"),
        ("x-custom", "kept"),
        ("trace-bin", "0001"),
    ]


@pytest.mark.parametrize(
    ("target", "hosts"),
    [
        ("reviews:9080", ("reviews",)),
        ("reviews", ("reviews",)),
        ("127.0.0.1:50051", ("127.0.0.1",)),
        ("[::1]:50051", ("::1",)),
        ("::1", ("::1",)),
        ("localhost:50051", ("localhost",)),
        ("dns:///ratings.default.svc.cluster.local:9080", ("ratings.default.svc.cluster.local",)),
        ("dns://8.8.8.8/api.example.com:443", ("api.example.com",)),
        ("dns:reviews:9080", ("reviews",)),
        ("ipv4:127.0.0.1:1,10.0.0.1:2", ("127.0.0.1", "10.0.0.1")),
        ("ipv6:[::1]:50051", ("::1",)),
        ("unix:/run/app.sock", ("localhost",)),
        ("unix:///run/app.sock", ("localhost",)),
        ("xds:///reviews", ("reviews",)),
        ("vsock:2:50051", ()),
    ],
)
def test_target_hosts(target: str, hosts: tuple[str, ...]) -> None:
    """Channel targets in every gRPC name syntax give the hosts the allowlist is checked on."""
    assert target_hosts(target) == hosts


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("reviews:9080", True),
        ("dns:///ratings.default.svc.cluster.local:9080", True),
        ("127.0.0.1:50051", True),
        ("api.example.com:443", False),
        ("ipv4:127.0.0.1:1,10.0.0.1:2", False),
        ("vsock:2:50051", False),
    ],
)
def test_target_allowlist_decides_the_metadata(target: str, allowed: bool) -> None:
    """The lane is added for allowed targets only (checked on the metadata, no call made)."""
    interceptor = LaneClientInterceptor(target, LaneConfig())
    with lanectx.use_lane("pr-7"):
        metadata, ctx = interceptor._prepare([("x-lane-id", "pr-1")])
    if allowed:
        assert (metadata, ctx) == ([("x-lane-id", "pr-7"), ("baggage", "lane=pr-7")], None)
    else:
        assert metadata == []
        assert ctx is not None
        assert lanectx.current_lane(ctx) is None


def _sync_pair(stack: ExitStack) -> tuple[Any, Any]:
    servicer = SyncProbe(stack.enter_context(httpx.Client()))
    target = stack.enter_context(run_sync_server(servicer))
    channel = stack.enter_context(grpc.insecure_channel(target))
    return target, services.ProbeStub(channel)


@pytest.mark.parametrize("shape", ["unary_unary", "unary_stream"])
def test_instrument_wires_only_what_is_created_after_it(shape: str) -> None:
    """Servers and channels made before `instrument()` carry no lane; ones made after do."""
    with ExitStack() as stack:
        _, before = _sync_pair(stack)
        lanectx.instrument()
        _, after = _sync_pair(stack)
        with lanectx.use_lane("pr-7"):
            old = call(before, shape, protos.Ask())
            new = call(after, shape, protos.Ask())
    assert [s.lane for s in old] == [""]
    assert header_values(old[0].metadata, "x-lane-id") == []
    assert [s.lane for s in new] == ["pr-7"]


def test_uninstrument_restores_factories_and_quiets_wired_objects() -> None:
    """After `uninstrument()` the factories are the originals and wired objects add no lane."""
    originals = (grpc.server, grpc.insecure_channel, grpc.aio.server, grpc.aio.insecure_channel)
    with ExitStack() as stack:
        lanectx.instrument()
        _, stub = _sync_pair(stack)
        with lanectx.use_lane("pr-7"):
            wired = call(stub, "unary_unary", protos.Ask())
            lanectx.uninstrument()
            quiet = call(stub, "unary_unary", protos.Ask())
    assert (grpc.server, grpc.insecure_channel, grpc.aio.server, grpc.aio.insecure_channel) == (
        originals
    )
    assert wired[0].lane == "pr-7"
    assert quiet[0].lane == ""
    assert header_values(quiet[0].metadata, "x-lane-id") == []


class Recorder(grpc.ServerInterceptor):  # type: ignore[misc]
    """A user's server interceptor that records the methods it saw."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        self.methods.append(details.method)
        return continuation(details)


def test_instrument_keeps_positional_server_interceptors() -> None:
    """A server given its interceptors positionally keeps them and gets the lane too."""
    lanectx.instrument()
    recorder = Recorder()
    with ThreadPoolExecutor(2) as pool, httpx.Client() as http:
        server = grpc.server(pool, None, [recorder])
        services.add_ProbeServicer_to_server(SyncProbe(http), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel, lanectx.use_lane("pr-7"):
                seen = services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)
        finally:
            server.stop(None).wait(10)
    assert seen.lane == "pr-7"
    assert recorder.methods == ["/lanectx.probe.Probe/Unary"]


def test_instrument_wires_aio_channel_with_positional_interceptors() -> None:
    """An aio channel given interceptors positionally keeps them and sends the lane."""
    lanectx.instrument()
    with aio_server(lambda: AsyncProbe(httpx.AsyncClient())) as target:

        async def run() -> Any:
            async with grpc.aio.insecure_channel(target, None, None, []) as channel:
                with lanectx.use_lane("pr-7"):
                    return await services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)

        seen = asyncio.run(run())
    assert seen.lane == "pr-7"
    assert header_values(seen.metadata, "x-lane-id") == ["pr-7"]


def test_other_baggage_in_context_is_sent_beside_the_lane() -> None:
    """The context's other baggage members go out beside one lane member."""
    lanectx.instrument()
    with ExitStack() as stack:
        _, stub = _sync_pair(stack)
        token = context.attach(baggage.set_baggage("lane", "pr-7", baggage.set_baggage("a", "1")))
        try:
            seen = call(stub, "unary_unary", protos.Ask())[0]
        finally:
            context.detach(token)
    assert header_values(seen.metadata, "baggage") == ["a=1,lane=pr-7"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("authority", "allowed", "lane"),
    [("api.example.com", "<loopback>", "pr-7"), ("reviews", "reviews", "")],
)
def test_instrument_checks_the_dialled_target(
    kind: str, authority: str, allowed: str, lane: str
) -> None:
    """The address a channel dials, not its ``grpc.default_authority`` option, is checked."""
    lanectx.instrument(LaneConfig(allowed_hosts=(allowed,)))
    options = [("grpc.default_authority", authority)]
    with ExitStack() as stack:
        if kind == "sync":
            servicer = SyncProbe(stack.enter_context(httpx.Client()))
            target = stack.enter_context(run_sync_server(servicer))
            with grpc.insecure_channel(target, options) as channel, lanectx.use_lane("pr-7"):
                seen = services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)
        else:
            target = stack.enter_context(aio_server(lambda: AsyncProbe(httpx.AsyncClient())))

            async def run() -> Any:
                async with grpc.aio.insecure_channel(target, options=options) as channel:
                    with lanectx.use_lane("pr-7"):
                        return await services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)

            seen = asyncio.run(run())
    assert seen.lane == lane
