"""gRPC channels: send the current lane as metadata, only to allowed channel targets.

Each RPC's metadata goes through `prepare_request`, the same step as an HTTP
request: to an allowed target the lane is set as ``x-lane-id`` and as one
``lane`` member of a single ``baggage`` entry (repeated ``baggage`` entries are
merged into it, nothing else is dropped); to any other target every lane entry is
removed and the call runs in a context without the lane.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context
from opentelemetry.context import Context, get_current

from ._config import LaneConfig, active_config
from ._grpc_server import ALWAYS_ON, InContext
from ._outbound import LaneHeaders, prepare_request

__all__ = [
    "AsyncLaneClientInterceptor",
    "LaneClientInterceptor",
    "async_client_interceptors",
    "target_hosts",
]

Pair = tuple[str, Any]
_URI_SCHEMES = frozenset({"dns", "ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds"})
_LOCAL_SCHEMES = frozenset({"unix", "unix-abstract"})


def _host(address: str) -> str:
    address = address.strip()
    if address.startswith("["):
        return address[1:].partition("]")[0]
    if address.count(":") == 1:
        return address.partition(":")[0]
    return address  # a name, an IPv4 address or a bare IPv6 address


def target_hosts(target: str) -> tuple[str, ...]:
    """Return the hosts a channel *target* dials (``dns:///reviews:9080`` -> ``reviews``).

    Unix sockets count as ``localhost``; unknown schemes give no host at all.
    """
    scheme, colon, rest = target.partition(":")
    scheme = scheme.lower()
    if not colon or (scheme not in _URI_SCHEMES and not rest.startswith("//")):
        return (_host(target),)
    if scheme in _LOCAL_SCHEMES:
        return ("localhost",)
    if scheme not in _URI_SCHEMES or scheme == "vsock":
        return ()
    if rest.startswith("//"):
        rest = rest[2:].partition("/")[2]  # drop the authority (a DNS server)
    addresses = rest.split(",") if scheme in ("ipv4", "ipv6") else [rest]
    return tuple(_host(address) for address in addresses)


class _MetadataHeaders(MutableMapping[str, str]):
    """gRPC metadata seen as HTTP headers: repeated entries read as one comma-joined value."""

    def __init__(self, metadata: Iterable[Pair] | None) -> None:
        self.pairs: list[Pair] = list(metadata or ())
        self.changed = False

    def __getitem__(self, name: str) -> str:
        values = [v for k, v in self.pairs if k == name and isinstance(v, str)]
        if not values:
            raise KeyError(name)
        return ",".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        kept: list[Pair] = []
        placed = False
        for pair in self.pairs:
            if pair[0] != name:
                kept.append(pair)
            elif not placed:
                kept.append((name, value))
                placed = True
        if not placed:
            kept.append((name, value))
        self.pairs = kept
        self.changed = True

    def __delitem__(self, name: str) -> None:
        kept = [pair for pair in self.pairs if pair[0] != name]
        if len(kept) == len(self.pairs):
            raise KeyError(name)
        self.pairs = kept
        self.changed = True

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self.pairs))

    def add_new(self, added: LaneHeaders) -> bool:
        """`prepare_request`'s quick add (`Add`): gRPC keys are lowercase, so one look."""
        names = added.names
        if any(pair[0] in names for pair in self.pairs):
            return False
        self.pairs.extend(added.pairs)
        self.changed = True
        return True

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self.pairs))


class _CallDetails(
    namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    """The details of one sync RPC, with new metadata."""


class _Base:
    def __init__(self, target: str, config: LaneConfig | None = None) -> None:
        self.target = target
        self.config = config
        self._hosts = target_hosts(target)
        self._switch: Any = ALWAYS_ON
        self._checked: tuple[LaneConfig, str | None, bool] | None = None

    def _check(self, config: LaneConfig) -> tuple[str | None, bool]:
        """Return (the host to check, whether lanes may go there); a target is checked once."""
        checked = self._checked
        if checked is None or checked[0] is not config:
            refused = [h for h in self._hosts if not config.host_allowed(h)]
            host = refused[0] if refused else next(iter(self._hosts), None)
            checked = self._checked = (config, host, config.host_allowed(host))
        return checked[1], checked[2]

    def _prepare(self, metadata: Iterable[Pair] | None) -> tuple[list[Pair] | None, Context | None]:
        """Return (new metadata or None if unchanged, context to call in or None)."""
        config = self.config or active_config()
        if not (self._switch.on and config.enabled):
            return None, None
        host, allowed = self._check(config)
        if allowed and not get_current():
            return None, None  # an empty context: nothing to add, nothing to strip
        headers = _MetadataHeaders(metadata)
        ctx = prepare_request(config, host, headers, _MetadataHeaders.add_new)
        return (headers.pairs if headers.changed else None), ctx


class LaneClientInterceptor(
    _Base,
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Send the current lane on every RPC of a sync channel to *target*.

    *target* is the string the channel was made with; lanes go only to hosts the
    config allows::

        channel = grpc.intercept_channel(channel, LaneClientInterceptor("reviews:9080"))
    """

    def _call(self, continuation: Any, details: Any, request: Any, stream: bool) -> Any:
        metadata, ctx = self._prepare(details.metadata)
        if metadata is not None:
            details = _CallDetails(
                details.method,
                details.timeout,
                tuple(metadata),
                details.credentials,
                getattr(details, "wait_for_ready", None),
                getattr(details, "compression", None),
            )
        if ctx is None:
            return continuation(details, request)
        token = context.attach(ctx)
        try:
            result = continuation(details, request)
        finally:
            context.detach(token)
        # Interceptors nearer the wire may send lazily, on the first read.
        return InContext(result, ctx) if stream else result

    def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        """Make a unary-unary call with the lane metadata set or stripped."""
        return self._call(continuation, client_call_details, request, False)

    def intercept_unary_stream(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        """Make a unary-stream call with the lane metadata set or stripped."""
        return self._call(continuation, client_call_details, request, True)

    def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        """Make a stream-unary call with the lane metadata set or stripped."""
        return self._call(continuation, client_call_details, request_iterator, False)

    def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        """Make a stream-stream call with the lane metadata set or stripped."""
        return self._call(continuation, client_call_details, request_iterator, True)


class AsyncLaneClientInterceptor(_Base):
    """Send the current lane on the RPCs of a `grpc.aio` channel to *target*.

    A `grpc.aio` channel gives each interceptor one RPC shape, so a channel needs
    one per shape: use `async_client_interceptors`, last in the channel's list so
    they see the final metadata.
    """

    async def _call(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata, ctx = self._prepare(details.metadata)
        if metadata is not None:
            details = grpc.aio.ClientCallDetails(
                details.method,
                details.timeout,
                grpc.aio.Metadata(*metadata),
                details.credentials,
                details.wait_for_ready,
            )
        if ctx is None:
            return await continuation(details, request)
        token = context.attach(ctx)  # inline: a generator context manager costs ~1 µs
        try:
            return await continuation(details, request)
        finally:
            context.detach(token)


class _AsyncUnaryUnary(AsyncLaneClientInterceptor, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await self._call(continuation, details, request)


class _AsyncUnaryStream(AsyncLaneClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await self._call(continuation, details, request)


class _AsyncStreamUnary(AsyncLaneClientInterceptor, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await self._call(continuation, details, requests)


class _AsyncStreamStream(AsyncLaneClientInterceptor, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await self._call(continuation, details, requests)


def async_client_interceptors(
    target: str, config: LaneConfig | None = None
) -> list[AsyncLaneClientInterceptor]:
    """Return the interceptors (one per RPC shape) that send lanes on a `grpc.aio` channel.

    grpc.aio.insecure_channel(target, interceptors=async_client_interceptors(target))
    """
    shapes = (_AsyncUnaryUnary, _AsyncUnaryStream, _AsyncStreamUnary, _AsyncStreamStream)
    return [shape(target, config) for shape in shapes]
