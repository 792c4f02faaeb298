"""Lanes on queue messages: headers on publish, the lane of a consumed message, isolation.

Every queue integration (celery, kafka) reduces a message's headers to (name, value)
pairs and uses these few functions, so the rules live in one place::

    headers = with_lane_headers(config, headers, outgoing_lane(config))   # produce
    lane = message_lane(config, record.headers())                         # consume
    lanes = ConsumerLanes(config)                                          # one per consumer
    if lanes.accept(record.headers()): ...  # handle it, in its lane; else skip it
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import context
from opentelemetry.context import Context

from ._baggage import with_member, without_member
from ._config import LaneConfig
from ._context import context_with_lane, current_lane
from ._hop import mark_consume_span
from ._lane import dropped, is_valid_lane, lane_from_values
from ._names import lane_name
from ._resource import process_lane, process_service
from .lanemap import lane_map

__all__ = [
    "MAX_BAGGAGE",
    "ConsumerLanes",
    "MessageScope",
    "message_lane",
    "outgoing_lane",
    "with_lane_headers",
]

MAX_BAGGAGE = 8192  # bytes of all baggage headers of one message, as W3C baggage allows

Headers = Any  # a client's headers: None, a list of (name, value) pairs, or a mapping


def outgoing_lane(config: LaneConfig) -> str | None:
    """Return the lane a message produced now must carry (None: no lane)."""
    return current_lane(None, config) if config.enabled else None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            dropped("message header", repr(bytes(value)[:64]))
            return None
    return None


def message_lane(config: LaneConfig, pairs: Iterable[tuple[object, object]] | None) -> str | None:
    """Return the lane of a consumed message from its header (name, value) pairs.

    The inbound rules apply (``x-lane-id``, ``x-pr-id``, then the baggage member);
    names are compared case-insensitively; a value that is not UTF-8, and baggage
    over `MAX_BAGGAGE` bytes in all, are no lane. Never raises on bad input.
    """
    if not pairs or not config.enabled:
        return None
    keys, first = config.inbound_keys, config.first_header
    found: dict[str, list[str]] = {}
    try:
        for name, value in pairs:
            key = _text(name)
            if key is None or (key not in keys and key.lower() not in keys):
                continue
            text = _text(value)
            if text is None:
                continue
            key = key.lower()
            if key == first and is_valid_lane(text):
                return text  # the highest-precedence source is valid: done
            found.setdefault(key, []).append(text)
    except (TypeError, ValueError):
        return None  # not a sequence of pairs: no lane
    bags = found.get("baggage")
    if bags and sum(len(b) for b in bags) > MAX_BAGGAGE:
        dropped("baggage", f"<{sum(len(b) for b in bags)} bytes>")
        del found["baggage"]
    return lane_from_values(config, found.get) if found else None


def _pairs(headers: Headers) -> Iterable[tuple[Any, Any]]:
    if isinstance(headers, Mapping):
        return headers.items()
    return headers  # type: ignore[no-any-return]


def with_lane_headers(config: LaneConfig, headers: Headers, lane: str | None) -> Headers:
    """Return the headers of a record produced in *lane*; the caller's object is never changed.

    The result holds exactly one lane header and one lane baggage member (none
    without a lane); the caller's other headers stay once each, in order, and the
    baggage members of all its ``baggage`` headers are merged into one header.
    Without a lane and without lane headers, *headers* itself is returned.
    """
    names = {*config.lane_headers, *config.pr_headers}
    if config.outbound_header:
        names.add(config.outbound_header)
    if lane is None and not headers:
        return headers
    kept: list[tuple[Any, Any]] = []
    bag: str | None = None
    changed = lane is not None
    for name, value in _pairs(headers or ()):
        key = name.lower() if isinstance(name, str) else name
        if key in names:
            changed = True
            continue
        if key == "baggage":
            changed = True
            text = _text(value)
            rest = without_member(text, config.baggage_key) if text else ""
            if rest:
                bag = f"{bag},{rest}" if bag else rest
            continue
        kept.append((name, value))
    if not changed:
        return headers
    if lane is not None:
        bag = with_member(bag, config.baggage_key, lane)
    if bag:
        kept.append(("baggage", bag.encode()))
    if lane is not None and config.outbound_header:
        kept.append((config.outbound_header, lane.encode()))
    return kept


class MessageScope:
    """The consumed message's lane, current from one consumer call until the next.

    `enter` makes a message's lane current in the caller's context (thread or
    asyncio task); `leave` restores what was current before, but only if the
    context is still the one `enter` set (so another task is never disturbed).
    """

    __slots__ = ("_before", "_ours")

    def __init__(self) -> None:
        self._before: Context | None = None
        self._ours: Context | None = None

    def enter(self, config: LaneConfig, lane: str | None) -> None:
        """Make *lane* (None: no lane) the current lane until `leave`."""
        self.leave()
        before = context.get_current()
        if lane is None:
            ours = context_with_lane(before, config, None, trusted=False)
        else:
            ours = context_with_lane(before, config, lane)
        if ours is before:
            return
        context.attach(ours)
        self._before, self._ours = before, ours

    def leave(self) -> None:
        """Restore the context from before `enter`, if ours is still current."""
        ours, self._ours = self._ours, None
        if ours is not None and context.get_current() is ours and self._before is not None:
            context.attach(self._before)
        self._before = None


class ConsumerLanes:
    """One consumer's side of isolation, and the lane of the message it returned last.

    A process whose own lane is L handles only messages of lane L, in its own
    consumer group (`group`). A stable one handles messages with no lane, and those
    of lanes the lane map lists no version of this service for; a process with no
    service name handles every message. This process's lane and service are read
    once, when the consumer is created.
    """

    __slots__ = ("config", "own", "scope", "service")

    def __init__(self, config: LaneConfig) -> None:
        self.config = config
        self.own = process_lane()
        self.service = process_service()
        self.scope = MessageScope()

    def group(self, group: str | None) -> str | None:
        """Return the consumer group this consumer joins in place of *group*."""
        return lane_name(group, self.own) if group else group

    def handles(self, lane: str | None) -> bool:
        """Return True when this consumer must handle a message of *lane*."""
        if self.own is not None:
            return lane == self.own
        if lane is None or self.service is None:
            return True
        return not lane_map(self.config).has_lane(self.service, lane)

    def accept(self, headers: Iterable[tuple[object, object]] | None) -> bool:
        """Return True for a message this consumer handles, and make its lane current."""
        lane = message_lane(self.config, headers)
        if not self.handles(lane):
            return False
        self.enter(lane)
        return True

    def enter(self, lane: str | None) -> None:
        """Make the lane of the message being returned current, until `leave`."""
        self.scope.enter(self.config, lane)  # the one place a consumed message's lane is set
        mark_consume_span(lane, self.config)

    def leave(self) -> None:
        """End the lane of the message returned last (the next one is being requested)."""
        self.scope.leave()
