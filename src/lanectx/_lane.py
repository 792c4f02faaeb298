"""The lane grammar, and the one parser that picks a request's lane from its headers.

Every carrier (ASGI scope, WSGI environ, gRPC metadata, OTel text map) reduces its
headers to a ``values(name) -> sequence of str`` lookup and calls `lane_from_values`::

    lane = lane_from_values(config, lambda name: headers.get_all(name))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._baggage import MAX_BYTES, member_values, without_member
from .exceptions import InvalidLaneError

if TYPE_CHECKING:
    from ._config import LaneConfig

__all__ = [
    "LANE_PATTERN",
    "MAX_LANE_LENGTH",
    "MAX_REPEATS",
    "environ_values",
    "inbound_values",
    "is_valid_lane",
    "lane_from_carrier",
    "lane_from_found",
    "lane_from_pairs",
    "lane_from_pr_id",
    "lane_from_values",
    "validate_lane",
]

MAX_LANE_LENGTH = 40
MAX_REPEATS = 16
"""Lane, PR and baggage headers read from one request, all together."""
LANE_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_PR_NUMBER = re.compile(r"(?:pr-)?([0-9]{1,37})")

logger = logging.getLogger("lanectx")
_warned = False

HeaderValues = Callable[[str], "Sequence[str] | None"]


def is_valid_lane(value: object) -> bool:
    """Return True when *value* is a lane id (a DNS label of at most 40 characters)."""
    return isinstance(value, str) and len(value) <= MAX_LANE_LENGTH and _matches(value)


@lru_cache(maxsize=1024)
def _matches(value: str) -> bool:
    # Lanes repeat from request to request: remember the verdict for short strings.
    return LANE_PATTERN.fullmatch(value) is not None


def validate_lane(value: object) -> str:
    """Return *value* if it is a lane id, else raise `InvalidLaneError`."""
    if not is_valid_lane(value):
        shown = value[:60] if isinstance(value, str) else value
        raise InvalidLaneError(
            f"invalid lane {shown!r}: expected a lowercase DNS label of at most "
            f"{MAX_LANE_LENGTH} characters, such as 'pr-123'"
        )
    return value  # type: ignore[return-value]


def lane_from_pr_id(value: str, prefix: str = "pr-") -> str | None:
    """Turn a pull-request number (``123`` or ``pr-123``) into its lane, or None."""
    if len(value) > MAX_LANE_LENGTH:
        return None
    match = _PR_NUMBER.fullmatch(value.strip(" \t"))
    if match is None:
        return None
    lane = prefix + match.group(1)
    return lane if is_valid_lane(lane) else None


def dropped(source: str, value: str) -> None:
    """Log that an invalid lane value from a request was dropped."""
    global _warned
    level = logging.DEBUG if _warned else logging.WARNING
    _warned = True
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "dropped invalid lane from %s: %r (further drops are logged at DEBUG)",
            source,
            value[:64],
        )


def lane_from_values(config: LaneConfig, values: HeaderValues) -> str | None:
    """Pick the request's lane: the first valid source in the contract's order.

    *values* maps a lowercase header name to the header's values (or None).
    The order is: `LaneConfig.lane_headers`, then `LaneConfig.pr_headers`
    (a number becomes ``pr-<number>``), then the `LaneConfig.baggage_key`
    member of every ``baggage`` header. Invalid values are logged and skipped.
    """
    for name in config.lane_headers:
        for value in (values(name) or ())[:MAX_REPEATS]:
            lane = value.strip(" \t")
            if is_valid_lane(lane):
                return lane
            dropped(name, value)
    for name in config.pr_headers:
        for value in (values(name) or ())[:MAX_REPEATS]:
            pr_lane = lane_from_pr_id(value, config.pr_prefix)
            if pr_lane is not None:
                return pr_lane
            dropped(name, value)
    headers = values("baggage")
    if headers:
        for value in member_values(headers, config.baggage_key):
            if is_valid_lane(value):
                return value
            dropped("baggage", value)
    return None


def inbound_values(
    config: LaneConfig, pairs: Iterable[tuple[str | bytes, str | bytes]]
) -> dict[str, list[str]] | None:
    """Collect the values of the headers *config* reads from (name, value) pairs.

    Names must be lowercase (as ASGI and gRPC give them). Only those few names are
    decoded, so a request without lane headers allocates nothing (None). Scanning
    stops after `MAX_REPEATS` of them: a caller repeating lane or baggage headers
    thousands of times costs no more than one that sends a few.
    """
    keys = config.inbound_keys
    found: dict[str, list[str]] | None = None
    seen = 0
    for name, value in pairs:
        if name in keys:
            seen += 1
            if seen > MAX_REPEATS:
                break
            key = name.decode("latin-1") if isinstance(name, bytes) else name
            # Past MAX_BYTES no value is read (a lane is 40 characters): not decoded either.
            text = value[: MAX_BYTES + 1]
            text = text.decode("latin-1") if isinstance(text, bytes) else text
            if found is None:
                found = {}
            found.setdefault(key, []).append(text)
    return found


def lane_from_pairs(
    config: LaneConfig, pairs: Iterable[tuple[str | bytes, str | bytes]]
) -> str | None:
    """Pick the lane from (name, value) pairs: ASGI headers or gRPC metadata."""
    found = inbound_values(config, pairs)
    return None if found is None else lane_from_found(config, found)


def lane_from_found(config: LaneConfig, found: dict[str, list[str]]) -> str | None:
    """The lane of what `inbound_values` collected; a valid first lane header decides at once."""
    first = found.get(config.first_header) if config.first_header else None
    if first and is_valid_lane(first[0]):
        return first[0]
    return lane_from_values(config, found.get)


def without_lane_pairs(
    config: LaneConfig, pairs: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """ASGI *pairs* without the lane headers and without lane members in ``baggage``.

    What an untrusted caller sent is removed before the app (or an OpenTelemetry
    middleware inside ours, which extracts again) can see it.
    """
    keys = config.inbound_keys
    kept: list[tuple[bytes, bytes]] = []
    for name, value in pairs:
        if b"_" in name and name.replace(b"_", b"-") in keys:
            continue  # `x_lane_id`: what a CGI-style server behind this one reads as x-lane-id
        if name in keys:
            if name != b"baggage":
                continue
            rest = without_member(value.decode("latin-1"), config.baggage_key)
            if not rest:
                continue
            value = rest.encode("latin-1")
        kept.append((name, value))
    return kept


def scrub_environ(config: LaneConfig, environ: dict[str, Any]) -> None:
    """Remove the lane headers, and lane members of ``baggage``, from a WSGI *environ*."""
    *lane_keys, baggage_key = config.environ_keys
    for key in lane_keys:
        environ.pop(key, None)
    sent = environ.get(baggage_key)
    if isinstance(sent, str):
        rest = without_member(sent, config.baggage_key)
        if rest:
            environ[baggage_key] = rest
        else:
            del environ[baggage_key]


@lru_cache(maxsize=64)
def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def environ_values(environ: Mapping[str, Any]) -> HeaderValues:
    """The header lookup of a WSGI environ (``x-lane-id`` → ``HTTP_X_LANE_ID``)."""

    def values(name: str) -> list[str] | None:
        value = environ.get(_environ_key(name))
        return None if value is None else [value]

    return values


def lane_from_environ(config: LaneConfig, environ: Mapping[str, Any]) -> str | None:
    """Pick the lane of a WSGI environ: a valid first lane header decides at once, and
    an environ with none of the lane headers is done after one lookup per header."""
    first = config.environ_keys[0] if config.lane_headers else None
    if first is not None:
        value = environ.get(first)
        if value is not None and is_valid_lane(value):
            return value  # type: ignore[no-any-return]
    for key in config.environ_keys:
        if key in environ:
            return lane_from_values(config, environ_values(environ))
    return None


def lane_from_carrier(config: LaneConfig, carrier: Any, values: HeaderValues) -> str | None:
    """Pick the lane of a propagator carrier; *values* is the getter's lookup.

    An ASGI scope is read in one pass over its (lowercase) header list and a WSGI
    environ by key, instead of one getter scan per header name.
    """
    if isinstance(carrier, dict):
        headers = carrier.get("headers")
        if carrier.get("type") in ("http", "websocket") and isinstance(headers, list):
            return lane_from_pairs(config, headers)
        if "wsgi.version" in carrier:
            return lane_from_environ(config, carrier)
    return lane_from_values(config, values)
