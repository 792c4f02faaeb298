"""Thousands of concurrent requests with distinct lanes: every hop sees only its own lane.

``LANECTX_RELIABILITY_REQUESTS`` sets the count (default 500; ``make reliability``
runs 10,000) and ``LANECTX_RELIABILITY_IN_FLIGHT`` the concurrency (default 200).
"""

from __future__ import annotations

import asyncio
import os
import time

from .report import record
from .stack import STREAM_REPLIES, capture_mismatches, drive, mismatches, running_stack

REQUESTS = int(os.environ.get("LANECTX_RELIABILITY_REQUESTS", "500"))
IN_FLIGHT = int(os.environ.get("LANECTX_RELIABILITY_IN_FLIGHT", "200"))


def test_distinct_lanes_never_mix_across_asgi_wsgi_grpc_http() -> None:
    """Every hop of every request (tasks, executors, threads, gRPC streams) sees its own lane."""
    with running_stack() as stack:
        started = time.perf_counter()
        answers = asyncio.run(drive(stack.url, REQUESTS, IN_FLIGHT))
        seconds = time.perf_counter() - started
        records = list(stack.capture.requests)
    failed = [(n, status, body) for n, status, body in answers if status != 200]
    wrong = {
        n: bad
        for n, status, body in answers
        if status == 200
        for bad in [mismatches(n, body)]
        if bad
    }
    wrong_capture = capture_mismatches(records)
    hops = (
        5 + 1 + 2 * (1 + STREAM_REPLIES)
    )  # A: handler + 4 workers; B; per reply: handler + capture
    record(
        "isolation",
        requests=REQUESTS,
        in_flight=IN_FLIGHT,
        peak_in_flight=stack.load.peak,
        hop_checks=REQUESTS * hops,
        capture_records=len(records),
        seconds=round(seconds, 1),
        mismatches=len(wrong) + len(wrong_capture),
    )
    assert failed == []
    assert wrong == {}
    assert wrong_capture == []
    assert len(records) == REQUESTS * (2 + STREAM_REPLIES)
    assert stack.load.peak >= min(IN_FLIGHT, REQUESTS) * 0.9
