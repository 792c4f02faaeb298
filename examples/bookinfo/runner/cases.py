"""The demo's requests: lanes, headers, and the version each service should answer with.

For example::

    lanes = DEFAULT_LANES
    for case in cases(lanes):
    answer = fetch(port, case.headers)
    answer.served_by == case.expected   # True when routing is right
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_LANES", "SERVICES", "Answer", "Case", "cases", "expected_versions", "fetch"]

SERVICES = ("productpage", "details", "reviews", "ratings")
# Three fallback shapes: both reviews and ratings in the lane; only reviews; only ratings.
# pr-31 and pr-314 also prove that one lane never catches the other.
DEFAULT_LANES: dict[str, tuple[str, ...]] = {
    "pr-31": ("reviews", "ratings"),
    "pr-314": ("reviews",),
    "pr-7": ("ratings",),
}


@dataclass(frozen=True)
class Case:
    """One request of the demo and what it must get back."""

    label: str
    headers: tuple[tuple[str, str], ...]
    lane: str | None
    expected: dict[str, str]


@dataclass
class Answer:
    """The product API's answer to one request."""

    status: int
    body: dict[str, Any]
    seconds: float
    trace_id: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def served_by(self) -> dict[str, str]:
        """Service -> version that served it."""
        return dict(self.body.get("served_by") or {})


def expected_versions(lanes: Mapping[str, Sequence[str]], lane: str | None) -> dict[str, str]:
    """Return service -> version a request in *lane* should be served by."""
    deployed = lanes.get(lane or "", ())
    return {service: lane if service in deployed else "stable" for service in SERVICES}  # type: ignore[misc]


def cases(lanes: Mapping[str, Sequence[str]]) -> list[Case]:
    """Return the demo's requests: no lane, each lane three ways, unknown and invalid lanes."""
    result = [Case("no lane", (), None, expected_versions(lanes, None))]
    for lane in lanes:
        want = expected_versions(lanes, lane)
        number = lane.removeprefix("pr-")
        if number.isdigit():
            result.append(Case(f"{lane} via x-pr-id", (("x-pr-id", number),), lane, want))
        result.append(Case(f"{lane} via x-lane-id", (("x-lane-id", lane),), lane, want))
        baggage = (("baggage", f"team=books, lane={lane}"),)
        result.append(Case(f"{lane} via baggage only", baggage, lane, want))
    stable = expected_versions(lanes, None)
    result += [
        Case("unknown lane pr-999", (("x-lane-id", "pr-999"),), "pr-999", stable),
        Case("invalid lane 'PR_31!'", (("x-lane-id", "PR_31!"),), None, stable),
        Case("lane only in a property", (("baggage", "a=1;lane=pr-31"),), None, stable),
    ]
    if "pr-31" in lanes:  # productpage/colouring.yaml: `agent: pc` → pr-31
        want = expected_versions(lanes, "pr-31")
        result.append(Case("coloured by rule (agent: pc)", (("agent", "pc"),), "pr-31", want))
    return result


def fetch(
    port: int, headers: Sequence[tuple[str, str]] = (), path: str = "/api/v1/products/0"
) -> Answer:
    """GET *path* through the ingress with *headers* and a fresh W3C trace id."""
    trace_id = secrets.token_hex(16)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    try:
        connection.putrequest("GET", path)
        for name, value in (*headers, ("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01")):
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - started
        kind = response.getheader("content-type") or ""
        body = json.loads(raw) if "json" in kind else {"html": raw.decode(errors="replace")}
        return Answer(response.status, body, seconds, trace_id, dict(response.getheaders()))
    finally:
        connection.close()
