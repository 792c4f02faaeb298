"""The lane report of a real bookinfo run, rendered by headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

import grpc
import httpx
import pytest
from PIL import Image
from ratings import protos, services
from runner.cases import fetch
from runner.otlp import OtlpReceiver

from lanectx.report import build_report, html_page, read_files
from lanectx.report._graph import COLOURS

from .harness import Runner

pytestmark = [pytest.mark.slow, pytest.mark.envoy]

SERVICES = {"productpage", "details", "reviews", "ratings"}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1100,900",
)


class _Elements(HTMLParser):
    """Counts the report's elements in a DOM: graph nodes by service, hops by outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.graphs = 0
        self.nodes: dict[str, str] = {}
        self.hops: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "svg" and "service-graph" in classes:
            self.graphs += 1
        elif tag == "g" and "node" in classes:
            self.nodes[found.get("data-service") or ""] = classes[1]
        elif tag == "li" and "hop" in classes:
            self.hops.append((found.get("data-service") or "", classes[1]))


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _has_colour(image: Image.Image, colour: str, at_least: int) -> bool:
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return sum(n for n, rgb in colours if rgb == want) >= at_least


def _send(runner: Runner, headers: Sequence[tuple[str, str]], count: int) -> list[str]:
    answers = [fetch(runner.port, headers) for _ in range(count)]
    assert {a.status for a in answers} == {200}
    return [a.trace_id for a in answers]


def test_report_renders_in_chromium(bookinfo: Runner, otlp: OtlpReceiver, tmp_path: Path) -> None:
    """A pr-31 report of real traffic renders: a coloured service graph and one tree per trace."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium (scripts/bootstrap.sh installs the Debian package)")
    lane_traces = _send(bookinfo, (("x-pr-id", "31"),), 5)
    _send(bookinfo, (), 5)
    for trace_id in lane_traces:
        otlp.wait_for(trace_id, SERVICES, timeout=10)
    time.sleep(0.3)  # the client spans of the last trace may follow its server spans
    spans, skipped = read_files([otlp.output])
    report = build_report(spans, "pr-31", skipped=skipped)
    assert {t.trace_id for t in report.traces} >= set(lane_traces)
    page = tmp_path / "report.html"
    page.write_text(html_page(report), encoding="utf-8")

    dom = _chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    elements = _Elements()
    elements.feed(dom)
    assert elements.graphs == 1
    assert elements.nodes == {
        "productpage": "fallback", "details": "fallback", "reviews": "hit", "ratings": "hit",
    }  # fmt: skip
    assert len(elements.hops) == sum(1 for t in report.traces for _ in t.hops())
    assert ("reviews", "hit") in elements.hops
    assert ("details", "fallback") in elements.hops

    shot = tmp_path / "report.png"
    _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", page.as_uri())
    with Image.open(shot) as image:
        assert image.size == (1100, 900)
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 10
        assert _has_colour(image, COLOURS["hit"], 2000)  # reviews and ratings boxes
        assert _has_colour(image, COLOURS["fallback"], 2000)  # productpage and details


def test_answers_name_the_version_that_served_them(bookinfo: Runner) -> None:
    """The demo turns x-lane-served on: stable productpage and reviews-pr-31 say who served."""
    for headers in ((), (("x-pr-id", "31"),)):
        answer = fetch(bookinfo.port, headers)
        assert answer.status == 200
        assert answer.headers.get("x-lane-served") == "stable"
    port = bookinfo.state()["reviews-pr-31"]["port"]
    direct = httpx.get(f"http://127.0.0.1:{port}/reviews/0", headers={"x-lane-id": "pr-31"})
    assert direct.status_code == 200
    assert direct.headers["x-lane-served"] == "pr-31"


@pytest.mark.parametrize(
    ("name", "served"), [("ratings-stable", "stable"), ("ratings-pr-31", "pr-31")]
)
def test_ratings_names_the_version_in_trailing_metadata(
    bookinfo: Runner, name: str, served: str
) -> None:
    """The gRPC ratings service says who served in its trailing metadata, also when it aborts."""
    port = bookinfo.state()[name]["port"]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = services.RatingsStub(channel)
        _, call = stub.GetRatings.with_call(protos.RatingsRequest(product_id=0), timeout=10)
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetRatings(protos.RatingsRequest(product_id=99), timeout=10)
    assert dict(call.trailing_metadata())["x-lane-served"] == served
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert dict(missing.value.trailing_metadata())["x-lane-served"] == served
