"""Every request shape reaches the right version of each service, through a real Envoy."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from runner.cases import fetch

from .harness import Runner, environ

pytestmark = [pytest.mark.slow, pytest.mark.envoy]

STABLE = {"productpage": "stable", "details": "stable", "reviews": "stable", "ratings": "stable"}
PR_31 = {**STABLE, "reviews": "pr-31", "ratings": "pr-31"}
PR_314 = {**STABLE, "reviews": "pr-314"}
PR_7 = {**STABLE, "ratings": "pr-7"}


@pytest.mark.parametrize(
    ("headers", "lane", "served_by"),
    [
        pytest.param((), None, STABLE, id="no-lane"),
        pytest.param((("x-pr-id", "31"),), "pr-31", PR_31, id="pr-31-x-pr-id"),
        pytest.param((("x-pr-id", "pr-31"),), "pr-31", PR_31, id="pr-31-x-pr-id-prefixed"),
        pytest.param((("x-lane-id", "pr-31"),), "pr-31", PR_31, id="pr-31-x-lane-id"),
        pytest.param((("baggage", "lane=pr-31"),), "pr-31", PR_31, id="pr-31-baggage"),
        pytest.param((("x-pr-id", "314"),), "pr-314", PR_314, id="pr-314-x-pr-id"),
        pytest.param((("x-lane-id", "pr-314"),), "pr-314", PR_314, id="pr-314-x-lane-id"),
        pytest.param(
            (("baggage", "team=books , lane = pr-314;ttl=1"),),
            "pr-314",
            PR_314,
            id="pr-314-baggage",
        ),
        pytest.param((("x-pr-id", "7"),), "pr-7", PR_7, id="pr-7-x-pr-id"),
        pytest.param((("x-lane-id", "pr-7"),), "pr-7", PR_7, id="pr-7-x-lane-id"),
        pytest.param((("baggage", "lane=pr-7"),), "pr-7", PR_7, id="pr-7-baggage"),
        pytest.param((("x-lane-id", "pr-999"),), "pr-999", STABLE, id="unknown-lane"),
        pytest.param((("x-pr-id", "3"),), "pr-3", STABLE, id="pr-3-is-not-pr-31"),
        pytest.param((("x-lane-id", "PR_31!"),), None, STABLE, id="invalid-lane"),
        pytest.param((("x-pr-id", "31x"),), None, STABLE, id="invalid-pr-id"),
        pytest.param((("baggage", "xlane=pr-31"),), None, STABLE, id="other-baggage-key"),
        pytest.param((("baggage", "a=1;lane=pr-31"),), None, STABLE, id="lane-in-property"),
        pytest.param(
            (("x-lane-id", "Bad Lane"), ("x-pr-id", "7")), "pr-7", PR_7, id="invalid-then-valid"
        ),
        pytest.param((("agent", "pc"),), "pr-31", PR_31, id="coloured-by-rule"),
        pytest.param((("agent", "pc"), ("x-pr-id", "7")), "pr-7", PR_7, id="explicit-beats-rule"),
        pytest.param((("agent", "mobile"),), None, STABLE, id="no-rule-matches"),
    ],
)
def test_served_by(
    bookinfo: Runner,
    headers: tuple[tuple[str, str], ...],
    lane: str | None,
    served_by: dict[str, str],
) -> None:
    """Each service of the request is served by the lane's version if deployed, else stable."""
    answer = fetch(bookinfo.port, headers)
    assert answer.status == 200, answer.body
    assert answer.served_by == served_by
    assert answer.body["lane"] == lane


def test_lanes_31_and_314_do_not_catch_each_other(bookinfo: Runner) -> None:
    """x-pr-id 31 and 314 reach different reviews versions, many times over."""
    for _ in range(5):
        assert fetch(bookinfo.port, (("x-pr-id", "31"),)).served_by["reviews"] == "pr-31"
        assert fetch(bookinfo.port, (("x-pr-id", "314"),)).served_by["reviews"] == "pr-314"


def test_html_page_names_the_versions(bookinfo: Runner) -> None:
    """The product page shows the lane and the version that served each part."""
    answer = fetch(bookinfo.port, (("x-lane-id", "pr-314"),), path="/productpage")
    html = answer.body["html"]
    assert answer.status == 200
    assert "lane: <b>pr-314</b>" in html
    for part in ("productpage: stable", "details: stable", "reviews: pr-314", "ratings: stable"):
        assert part in html
    assert "★" in html


def test_ready_url_serves_the_page(bookinfo: Runner) -> None:
    """The URL on the ready line is the product page, reachable without any lane."""
    assert bookinfo.url.endswith("/productpage")
    answer = fetch(bookinfo.port, path="/productpage")
    assert answer.status == 200
    assert "reviews: stable" in answer.body["html"]


def _listening(pid: int) -> set[int]:
    """The TCP ports process *pid* itself listens on (its sockets in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_each_version_listens_on_a_port_it_bound_itself(bookinfo: Runner) -> None:
    """No port is picked ahead for a version: each binds one (PORT=0) and reports it,
    and that is the port Envoy is given and the process listens on."""
    state = bookinfo.state()
    versions = {name: info for name, info in state.items() if name != "envoy"}
    assert len(versions) == 8
    for name, info in versions.items():
        assert environ(info["pid"])["PORT"] == "0", name
        assert info["port"] in _listening(info["pid"]), name
        reported = (bookinfo.run_dir / f"{name}.port").read_text()
        assert int(reported) == info["port"], name
