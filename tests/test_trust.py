"""Trust boundary: an edge ignores lanes from callers it does not trust."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

import lanectx
from lanectx import ConfigurationError, LaneConfig, LanePropagator, asgi, wsgi
from lanectx._trust import peer_host

from .servers import run_uvicorn, run_wsgi

LANE = {"x-lane-id": "pr-5"}
TOKEN = {"x-lane-id": "pr-5", "x-edge-trust": "s3cret"}


async def echo_lane(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering with the current lane."""
    body = json.dumps({"lane": lanectx.current_lane()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def wsgi_echo_lane(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering with the current lane."""
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps({"lane": lanectx.current_lane()}).encode()]


def _get(url: str, headers: dict[str, str]) -> str | None:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        lane: str | None = json.load(response)["lane"]
    return lane


CASES = [
    pytest.param({}, LANE, "pr-5", id="default-trusts-all"),
    pytest.param({"trusted_callers": ("10.0.0.0/8",)}, LANE, None, id="caller-not-in-network"),
    pytest.param({"trusted_callers": ("<loopback>",)}, LANE, "pr-5", id="loopback-trusted"),
    pytest.param({"trusted_callers": ("127.0.0.1",)}, LANE, "pr-5", id="address-trusted"),
    pytest.param({"trust_header": "x-edge-trust"}, LANE, None, id="trust-header-missing"),
    pytest.param({"trust_header": "x-edge-trust"}, TOKEN, "pr-5", id="trust-header-present"),
    pytest.param(
        {"trust_header": "x-edge-trust", "trust_value": "other"}, TOKEN, None, id="wrong-value"
    ),
    pytest.param(
        {"trust_header": "x-edge-trust", "trust_value": "s3cret"}, TOKEN, "pr-5", id="right-value"
    ),
]


@pytest.mark.parametrize(("settings", "headers", "lane"), CASES)
def test_asgi_edge_honours_only_trusted_callers(
    settings: dict[str, Any], headers: dict[str, str], lane: str | None
) -> None:
    """LaneMiddleware (under uvicorn) ignores the lane of an untrusted caller."""
    config = LaneConfig(**settings)
    with run_uvicorn(asgi.LaneMiddleware(echo_lane, config)) as url:
        assert _get(url, headers) == lane


@pytest.mark.parametrize(("settings", "headers", "lane"), CASES)
def test_wsgi_edge_honours_only_trusted_callers(
    settings: dict[str, Any], headers: dict[str, str], lane: str | None
) -> None:
    """The WSGI LaneMiddleware (under waitress) ignores the lane of an untrusted caller."""
    config = LaneConfig(**settings)
    with run_wsgi(wsgi.LaneMiddleware(wsgi_echo_lane, config)) as url:
        assert _get(url, headers) == lane


def test_lane_extracted_by_otel_is_removed_for_untrusted_callers() -> None:
    """Inside OTel's middleware, a lane OTel extracted is dropped for an untrusted peer."""
    config = LaneConfig(trusted_callers=("192.0.2.0/24",))
    lanectx.instrument(config)
    app = OpenTelemetryMiddleware(
        asgi.LaneMiddleware(echo_lane, config), tracer_provider=TracerProvider()
    )
    with run_uvicorn(app) as url:
        assert _get(url, {"baggage": "lane=pr-5"}) is None
        assert _get(url, LANE) is None


def test_propagator_checks_the_trust_header() -> None:
    """The propagator (no peer address) drops lanes of requests without the trust header."""
    propagator = LanePropagator(LaneConfig(trust_header="x-edge-trust", trust_value="s3cret"))
    assert lanectx.current_lane(propagator.extract(LANE, Context())) is None
    assert lanectx.current_lane(propagator.extract(TOKEN, Context())) == "pr-5"


@pytest.mark.parametrize("callers", [("nonsense",), ("10.0.0.0/33",), "10.0.0.0/8"])
def test_bad_trusted_callers_raise(callers: Any) -> None:
    """Trusted callers must be '*', '<loopback>', addresses or networks."""
    with pytest.raises(ConfigurationError):
        LaneConfig(trusted_callers=callers)


def test_trust_settings_from_env() -> None:
    """LANECTX_TRUSTED_CALLERS / TRUST_HEADER / TRUST_VALUE configure the boundary."""
    config = LaneConfig.from_env(
        {
            "LANECTX_TRUSTED_CALLERS": "10.0.0.0/8, <loopback>",
            "LANECTX_TRUST_HEADER": "X-Edge-Trust",
            "LANECTX_TRUST_VALUE": "s3cret",
        }
    )
    assert config.caller_trusted("10.2.3.4", ["s3cret"])
    assert config.caller_trusted("::1", ["s3cret"])
    assert not config.caller_trusted("10.2.3.4", ["nope"])
    assert not config.caller_trusted("192.0.2.1", ["s3cret"])
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:5000", "127.0.0.1"),
        ("ipv6:[::1]:5000", "::1"),
        ("ipv6:%5B::1%5D:5000", "::1"),
        ("unix:/tmp/sock", None),
        (None, None),
    ],
)
def test_grpc_peer_addresses(peer: str | None, host: str | None) -> None:
    """gRPC peer strings give the caller's address (none for unix sockets)."""
    assert peer_host(peer) == host


def _status_and_lane(url: str, trust: bytes) -> tuple[int, str | None]:
    """GET *url* with a lane and the raw bytes *trust* as the trust header."""
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest("GET", "/")
        connection.putheader("x-lane-id", "pr-5")
        connection.putheader("x-edge-trust", trust)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, json.loads(body)["lane"] if response.status == 200 else None


NON_ASCII = [pytest.param("é".encode(), id="utf-8"), pytest.param(b"\xe9\xff", id="latin-1")]


@pytest.mark.parametrize("trust", NON_ASCII)
@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_non_ascii_trust_header_is_refused_not_an_error(server: str, trust: bytes) -> None:
    """A trust header with non-ASCII bytes is an untrusted caller, never a 500."""
    config = LaneConfig(trust_header="x-edge-trust", trust_value="s3cret")
    app: Any = (
        asgi.LaneMiddleware(echo_lane, config)
        if server == "asgi"
        else wsgi.LaneMiddleware(wsgi_echo_lane, config)
    )
    with (run_uvicorn if server == "asgi" else run_wsgi)(app) as url:
        assert _status_and_lane(url, trust) == (200, None)
        assert _status_and_lane(url, b"s3cret") == (200, "pr-5")


@pytest.mark.parametrize("trust", NON_ASCII)
def test_non_ascii_trust_header_behind_otel_is_refused(trust: bytes) -> None:
    """Behind OTel's middleware (the propagator checks the header) it is refused too."""
    lanectx.instrument(LaneConfig(trust_header="x-edge-trust", trust_value="s3cret"))
    with run_uvicorn(OpenTelemetryMiddleware(echo_lane, tracer_provider=TracerProvider())) as url:
        assert _status_and_lane(url, trust) == (200, None)
        assert _status_and_lane(url, b"s3cret") == (200, "pr-5")


def test_propagator_refuses_non_ascii_trust_values() -> None:
    """LanePropagator compares any text or bytes without raising."""
    propagator = LanePropagator(LaneConfig(trust_header="x-edge-trust", trust_value="s3cret"))
    for sent in ("s3crét", "\udcff", b"s3cret\xff"):
        carrier = {"x-lane-id": "pr-5", "x-edge-trust": sent}
        assert lanectx.current_lane(propagator.extract(carrier, Context())) is None


async def echo_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering with the headers it was given."""
    pairs = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(pairs).encode()})


def wsgi_echo_environ(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """A WSGI app answering with its HTTP_* environ entries."""
    start_response("200 OK", [("content-type", "application/json")])
    pairs = [[k, v] for k, v in environ.items() if k.startswith("HTTP_")]
    return [json.dumps(pairs).encode()]


UNTRUSTED_SPELLINGS = {
    "x-lane-id": "pr-5",
    "x_lane_id": "pr-5",
    "x-pr-id": "5",
    "baggage": "a=1,lane=pr-5,%6Cane=pr-5",
}


def test_untrusted_lane_headers_never_reach_the_asgi_app() -> None:
    """For an untrusted caller, the app (and any OTel middleware inside) sees no lane spelling."""
    config = LaneConfig(trusted_callers=("192.0.2.0/24",))
    with run_uvicorn(asgi.LaneMiddleware(echo_headers, config)) as url:
        request = urllib.request.Request(url, headers=UNTRUSTED_SPELLINGS)
        with urllib.request.urlopen(request, timeout=10) as response:
            seen = dict(json.load(response))
    assert not {"x-lane-id", "x_lane_id", "x-pr-id"} & seen.keys()
    assert seen["baggage"] == "a=1"


def test_untrusted_lane_headers_never_reach_the_wsgi_app() -> None:
    """The WSGI middleware removes an untrusted caller's lane entries from the environ."""
    config = LaneConfig(trusted_callers=("192.0.2.0/24",))
    with run_wsgi(wsgi.LaneMiddleware(wsgi_echo_environ, config)) as url:
        request = urllib.request.Request(url, headers=UNTRUSTED_SPELLINGS)
        with urllib.request.urlopen(request, timeout=10) as response:
            seen = dict(json.load(response))
    assert not {"HTTP_X_LANE_ID", "HTTP_X_PR_ID"} & seen.keys()
    assert seen["HTTP_BAGGAGE"] == "a=1"
