"""gRPC servers: say which version served each RPC, in its trailing metadata.

With `LaneConfig.served_header` set, the server interceptors hand each handler a
servicer context that puts ``(header, own lane or "stable")`` in the RPC's trailing
metadata from the start, and merges it into what the handler sets there itself
(``set_trailing_metadata``, ``abort`` with trailing metadata, ``abort_with_status``).
Trailing metadata, not initial: it is sent by every RPC whatever its end (a reply,
an abort, an exception, a trailers-only answer), it is where gRPC puts its own
reports about a call (``grpc-status``, load reports), and setting it costs nothing,
where initial metadata sent apart from the first message costs gRPC a batch of its
own (measured: a fifth to a third more per unary RPC).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import grpc

__all__ = ["ServedContext", "serving"]

Behavior = Callable[..., Any]
Entry = tuple[str, str]


def _plus(metadata: Any, entry: Entry) -> tuple[Any, ...]:
    """*metadata* (None, pairs or `grpc.aio.Metadata`) with *entry*, unless its key is there."""
    pairs = tuple(metadata or ())
    return pairs if any(key == entry[0] for key, _ in pairs) else (*pairs, entry)


class _Status(NamedTuple):  # what gRPC reads of a `grpc.Status`
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[Any, ...]


class ServedContext:
    """A servicer context whose trailing metadata always carries the served entry.

    Everything else is the wrapped context's (sync or ``grpc.aio``: what it returns,
    a coroutine included, is returned).
    """

    def __init__(self, inner: Any, entry: Entry) -> None:
        self._inner = inner
        self._entry = entry
        inner.set_trailing_metadata((entry,))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        """Set the handler's trailing metadata, the served entry added."""
        self._inner.set_trailing_metadata(_plus(trailing_metadata, self._entry))

    def abort(self, code: Any, details: str = "", trailing_metadata: Any = ()) -> Any:
        """Abort the RPC; trailing metadata given here (``grpc.aio``) gets the entry too."""
        if not trailing_metadata:  # what was set before is sent, the entry in it
            return self._inner.abort(code, details)
        return self._inner.abort(code, details, _plus(trailing_metadata, self._entry))

    def abort_with_status(self, status: Any) -> Any:
        """Abort with a `grpc.Status`, the entry added to its trailing metadata."""
        trailing = _plus(status.trailing_metadata, self._entry)
        return self._inner.abort_with_status(_Status(status.code, status.details, trailing))


def serving(behavior: Behavior, kind: str, entry: Entry) -> Behavior:
    """Return *behavior* (of *kind*, see ``_grpc_server``) run with a `ServedContext`."""
    if kind == "coroutine":

        async def coroutine_served(request: Any, servicer_context: Any) -> Any:
            return await behavior(request, ServedContext(servicer_context, entry))

        return coroutine_served
    if kind == "async generator":

        async def generator_served(request: Any, servicer_context: Any) -> AsyncIterator[Any]:
            responses = behavior(request, ServedContext(servicer_context, entry))
            try:
                async for response in responses:
                    yield response
            finally:
                await responses.aclose()

        return generator_served

    def served(request: Any, servicer_context: Any) -> Any:
        return behavior(request, ServedContext(servicer_context, entry))

    return served
