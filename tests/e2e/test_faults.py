"""A stopped lane version breaks only its own lane, quickly and cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from runner.cases import fetch

from .harness import Runner

pytestmark = [pytest.mark.slow, pytest.mark.envoy]

REQUESTS = 30


@pytest.fixture(scope="module")
def broken(bookinfo: Runner) -> Runner:
    """The stack with reviews-pr-314 killed (SIGKILL: no goodbye)."""
    pid = bookinfo.state()["reviews-pr-314"]["pid"]
    with contextlib.suppress(ProcessLookupError):  # already gone: broken all the same
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while "exited: reviews-pr-314" not in bookinfo.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bookinfo


@pytest.mark.parametrize(
    "headers",
    [(), (("x-pr-id", "31"),), (("x-lane-id", "pr-7"),), (("baggage", "lane=pr-999"),)],
    ids=["no-lane", "pr-31", "pr-7", "unknown-lane"],
)
def test_other_lanes_still_succeed(broken: Runner, headers: tuple[tuple[str, str], ...]) -> None:
    """Requests outside the broken lane all succeed."""
    answers = [fetch(broken.port, headers) for _ in range(REQUESTS)]
    assert [a.status for a in answers] == [200] * REQUESTS


@pytest.mark.parametrize(
    "headers",
    [(("x-pr-id", "314"),), (("x-lane-id", "pr-314"),), (("baggage", "lane=pr-314"),)],
    ids=["x-pr-id", "x-lane-id", "baggage"],
)
def test_broken_lane_fails_fast_and_names_the_service(
    broken: Runner, headers: tuple[tuple[str, str], ...]
) -> None:
    """The broken lane gets a 503 naming reviews within a second, never a hang."""
    for _ in range(5):
        answer = fetch(broken.port, headers)
        assert answer.status == 503
        assert answer.body["service"] == "reviews"
        assert answer.body["lane"] == "pr-314"
        assert answer.seconds < 1.0


def test_runner_reports_the_crash(broken: Runner) -> None:
    """The runner says which process exited and where its log is."""
    assert "exited: reviews-pr-314" in broken.stderr()
    assert "reviews-pr-314.log" in broken.stderr()
