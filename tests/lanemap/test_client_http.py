"""Client routing through real httpx (sync, async) and requests clients to real servers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

import lanectx
from lanectx import LaneConfig

from ..servers import CaptureServer

CLIENTS = ("httpx", "httpx-async", "requests")
FORMS = ("reviews", "reviews.shop", "reviews.shop.svc", "reviews.shop.svc.cluster.local")
ALLOWED = ("<short>", "*.shop", "*.svc", "*.svc.cluster.local", "localhost", "<loopback>")


class Versions:
    """The stable and pr-31 versions of a service, and an unrelated server, on 127.0.0.1."""

    def __init__(self, stable: CaptureServer, lane: CaptureServer, other: CaptureServer):
        self.stable, self.lane, self.other = stable, lane, other
        self.port = int(stable.url.rpartition(":")[2])

    def lane_map(self, lanes: list[str]) -> dict[str, Any]:
        """A lane map naming `localhost` and `reviews` with *lanes*, endpoints on loopback."""
        lane_at = self.lane.url.removeprefix("http://")
        return {
            "services": {"localhost": lanes, "reviews": lanes},
            "endpoints": {
                "localhost": {"pr-31": lane_at},
                "reviews": {"stable": self.stable.url.removeprefix("http://"), "pr-31": lane_at},
            },
        }


@pytest.fixture(scope="module")
def servers() -> Iterator[Versions]:
    """Three capture servers: stable, the pr-31 version, and another service."""
    with CaptureServer() as stable, CaptureServer() as lane, CaptureServer() as other:
        yield Versions(stable, lane, other)


@pytest.fixture
def versions(servers: Versions) -> Versions:
    """The servers, with no request recorded yet."""
    for server in (servers.stable, servers.lane, servers.other):
        server.requests.clear()
    return servers


def write_map(path: Path, data: dict[str, Any] | str) -> None:
    """Replace the map file at *path* (a new file, as a ConfigMap volume swaps it)."""
    text = data if isinstance(data, str) else json.dumps(data)
    fresh = path.with_suffix(".new")
    fresh.write_text(text, encoding="utf-8")
    fresh.replace(path)


def routing(tmp_path: Path, versions: Versions, **overrides: Any) -> Path:
    """Instrument in client routing mode with a map holding pr-31; return the map's path."""
    path = tmp_path / "lanes.json"
    write_map(path, versions.lane_map(["pr-31"]))
    config = {"routing": "client", "lane_map": str(path), "allowed_hosts": ALLOWED, **overrides}
    assert lanectx.instrument(LaneConfig(**config))
    return path


def get(kind: str, url: str, lane: str | None) -> str:
    """GET *url* with *kind* in *lane*, following redirects; return the final URL."""
    with lanectx.use_lane(lane):
        if kind == "httpx":
            with httpx.Client(follow_redirects=True) as client:
                return str(client.get(url).raise_for_status().url)
        if kind == "requests":
            with requests.Session() as session:
                response = session.get(url, timeout=10)
                response.raise_for_status()
                return str(response.url)

        async def run() -> str:
            async with httpx.AsyncClient(follow_redirects=True) as client:
                return str((await client.get(url)).raise_for_status().url)

        return asyncio.run(run())


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_lane_call_goes_to_the_lane_version(
    kind: str, versions: Versions, tmp_path: Path
) -> None:
    """A call in a mapped lane reaches that lane's version, with the addressed Host and URL."""
    routing(tmp_path, versions)
    url = f"http://localhost:{versions.port}/page"
    assert get(kind, url, "pr-31") == url
    assert versions.stable.requests == []
    (seen,) = versions.lane.requests
    assert seen["headers"]["host"] == f"localhost:{versions.port}"
    assert seen["headers"]["x-lane-id"] == "pr-31"


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("lane", [None, "pr-9"])
def test_no_lane_or_an_unmapped_lane_goes_to_stable(
    kind: str, lane: str | None, versions: Versions, tmp_path: Path
) -> None:
    """Without a lane, or in a lane with no version of the service, the call reaches stable."""
    routing(tmp_path, versions)
    get(kind, f"http://localhost:{versions.port}/page", lane)
    assert len(versions.stable.requests) == 1
    assert versions.lane.requests == []
    assert versions.stable.requests[0]["headers"].get("x-lane-id") == lane


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("host", FORMS)
def test_every_host_form_of_a_service_is_routed(
    kind: str, host: str, versions: Versions, tmp_path: Path
) -> None:
    """svc, svc.ns, svc.ns.svc and svc.ns.svc.cluster.local name the same service."""
    routing(tmp_path, versions)
    get(kind, f"http://{host}:9080/a", "pr-31")
    get(kind, f"http://{host}:9080/b", None)
    assert [r["path"] for r in versions.lane.requests] == ["/a"]
    assert [r["path"] for r in versions.stable.requests] == ["/b"]
    assert versions.lane.requests[0]["headers"]["host"] == f"{host}:9080"


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_host_that_is_not_allowed_is_never_rerouted(
    kind: str, versions: Versions, tmp_path: Path
) -> None:
    """A mapped service under a host the config does not allow keeps its address, no lane."""
    routing(tmp_path, versions, allowed_hosts=("<loopback>",))
    get(kind, f"http://localhost:{versions.port}/page", "pr-31")
    assert versions.lane.requests == []
    assert "x-lane-id" not in versions.stable.requests[0]["headers"]


@pytest.mark.parametrize("kind", CLIENTS)
def test_mesh_mode_never_reroutes(kind: str, versions: Versions, tmp_path: Path) -> None:
    """With routing "mesh" the map is ignored: the call goes where it was addressed."""
    routing(tmp_path, versions, routing="mesh")
    get(kind, f"http://localhost:{versions.port}/page", "pr-31")
    assert versions.lane.requests == []
    assert versions.stable.requests[0]["headers"]["x-lane-id"] == "pr-31"


@pytest.mark.parametrize("kind", CLIENTS)
def test_each_redirect_hop_is_routed_on_its_own(
    kind: str, versions: Versions, tmp_path: Path
) -> None:
    """A redirect from another service to a mapped one is routed; relative ones from the URL."""
    routing(tmp_path, versions)
    service = f"http://localhost:{versions.port}"
    final = get(kind, f"{versions.other.url}/redirect?to={service}/redirect?to=/end", "pr-31")
    assert final == f"{service}/end"
    assert len(versions.other.requests) == 1
    assert [r["path"] for r in versions.lane.requests] == ["/redirect?to=/end", "/end"]
    assert versions.stable.requests == []


@pytest.mark.parametrize("kind", CLIENTS)
def test_the_map_is_reloaded_and_a_malformed_one_ignored(
    kind: str, versions: Versions, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lane added to the file is routed within about a second; a broken file keeps the map."""
    path = routing(tmp_path, versions)
    write_map(path, versions.lane_map([]))
    url = f"http://localhost:{versions.port}/page"

    def served_by_lane_within(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            before = len(versions.lane.requests)
            get(kind, url, "pr-31")
            if len(versions.lane.requests) > before:
                return True
            time.sleep(0.05)
        return False

    time.sleep(0.6)
    get(kind, url, "pr-31")
    assert len(versions.stable.requests) == 1
    write_map(path, versions.lane_map(["pr-31"]))
    assert served_by_lane_within(3)
    stable_calls = len(versions.stable.requests)
    with caplog.at_level(logging.WARNING, logger="lanectx"):
        write_map(path, '{"services": ["not", "an", "object"]')
        time.sleep(0.6)
        for _ in range(3):
            get(kind, url, "pr-31")
            time.sleep(0.3)
    assert len(versions.stable.requests) == stable_calls
    warnings = [r for r in caplog.records if "keeping the last good" in r.getMessage()]
    assert len(warnings) == 1


def test_the_lane_transport_routes_without_instrument(versions: Versions, tmp_path: Path) -> None:
    """`LaneTransport` with a client-routing config routes a call of a plain client."""
    from lanectx.httpx import LaneTransport

    path = tmp_path / "lanes.json"
    write_map(path, versions.lane_map(["pr-31"]))
    config = LaneConfig(routing="client", lane_map=str(path), allowed_hosts=ALLOWED)
    transport = LaneTransport(httpx.HTTPTransport(), config)
    with httpx.Client(transport=transport) as client, lanectx.use_lane("pr-31"):
        response = client.get("http://reviews.shop.svc:9080/x")
    assert response.url == "http://reviews.shop.svc:9080/x"
    assert [r["path"] for r in versions.lane.requests] == ["/x"]


@pytest.mark.parametrize("kind", ["httpx", "requests"])
def test_the_client_span_says_where_the_call_went(
    kind: str, versions: Versions, tmp_path: Path
) -> None:
    """OTel's client span of a routed call carries the version that served it and why."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from lanectx.telemetry import LaneSpanProcessor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor: Any = (HTTPXClientInstrumentor if kind == "httpx" else RequestsInstrumentor)()
    instrumentor.instrument(tracer_provider=provider)
    try:
        routing(tmp_path, versions)
        for lane in ("pr-31", None, "pr-9"):
            get(kind, f"http://localhost:{versions.port}/page", lane)
        get(kind, f"{versions.other.url}/page", "pr-31")
    finally:
        lanectx.uninstrument()  # patches come off in reverse order of installation
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    routes = [
        (span.attributes.get("lane.route.version"), span.attributes.get("lane.route.reason"))
        for span in spans
        if span.attributes is not None
    ]
    assert routes == [
        ("pr-31", "lane-version"),
        ("stable", "no-lane"),
        ("stable", "lane-not-deployed"),
        (None, None),
    ]


@pytest.mark.parametrize("host", FORMS)
@pytest.mark.parametrize("kind", ["httpx", "requests"])
def test_without_endpoints_a_lane_goes_to_its_per_lane_service(
    kind: str, host: str, tmp_path: Path
) -> None:
    """No endpoint: `reviews[.ns...]:port` becomes `reviews-<lane>[.ns...]:port`, Host kept."""
    path = tmp_path / "lanes.json"
    write_map(path, {"services": {"reviews": ["pr-31"]}})
    config = LaneConfig(routing="client", lane_map=str(path), allowed_hosts=ALLOWED)
    assert lanectx.instrument(config)
    dialed: list[tuple[str, str]] = []  # (URL sent on the wire, Host header)
    if kind == "httpx":

        def answer(request: httpx.Request) -> httpx.Response:
            dialed.append((str(request.url), request.headers["host"]))
            return httpx.Response(200)

        with httpx.Client(transport=httpx.MockTransport(answer)) as client:
            for lane in ("pr-31", None):
                with lanectx.use_lane(lane):
                    response = client.get(f"http://{host}:9080/x?q=1")
                assert str(response.url) == f"http://{host}:9080/x?q=1"
    else:

        class Answer(requests.adapters.BaseAdapter):  # type: ignore[misc]
            def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:
                dialed.append((str(request.url), request.headers.get("Host", "")))
                response = requests.Response()
                response.status_code, response.request, response.url = 200, request, request.url
                return response

            def close(self) -> None:
                return None

        with requests.Session() as session:
            session.mount("http://", Answer())
            for lane in ("pr-31", None):
                with lanectx.use_lane(lane):
                    response = session.get(f"http://{host}:9080/x?q=1")
                assert response.url == f"http://{host}:9080/x?q=1"
    lane_host = host.replace("reviews", "reviews-pr-31", 1)
    assert dialed[0] == (f"http://{lane_host}:9080/x?q=1", f"{host}:9080")
    assert dialed[1][0] == f"http://{host}:9080/x?q=1"


def test_the_parse_free_url_copy_equals_httpx_own() -> None:
    """The rerouted httpx URL is exactly what `URL.copy_with` would give."""
    from lanectx.httpx import _with_address

    for text in ("http://reviews:9080/a?b=1#c", "https://u:p@reviews.shop.svc/x", "http://r/"):
        url = httpx.URL(text)
        for host, port in (("reviews-pr-31", 9080), ("127.0.0.1", None), ("10.0.0.7", 443)):
            mine, theirs = _with_address(url, host, port), url.copy_with(host=host, port=port)
            assert (mine.host, mine.port, mine.raw_path, mine.scheme) == (
                theirs.host,
                theirs.port,
                theirs.raw_path,
                theirs.scheme,
            )
            assert str(mine) == str(theirs)
