"""Start the bookinfo stack: every version the manifests deploy, as processes, and Envoy.

For example::

    with Stack({"pr-7": ("reviews",)}, port=8080, run_dir=Path("/tmp/bi")) as stack:
        print(stack.url)

The processes are the rendered Deployments: one per ``<service>-<version>``, with the
Deployment's environment (``OTEL_SERVICE_NAME``, ``LANECTX_SERVICE``, ``LANE_ID``,
``OTEL_RESOURCE_ATTRIBUTES``), each on a loopback port it binds itself (``PORT=0``)
and reports in ``<run dir>/<name>.port``, so no other process can take it between a
pick and the bind; Envoy and the lane map are given the ports once all are known.

With ``mesh="envoy"`` every call between services goes through Envoy: HTTP clients
use it as their proxy (so the code keeps its in-cluster URLs such as
``http://details:9080``), the gRPC client dials it with authority ``ratings``.
With ``mesh="none"`` there is no proxy: the Deployments are the ``kubernetes``
target's (``LANECTX_ROUTING=client``), ``LANECTX_LANE_MAP`` names a lane map of the
stack's lanes with each version's address, lanectx's clients route each call from
it, and stable productpage listens on the ingress port itself.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from lanectx.localmesh import EnvoyProcess
from runner.mesh import SPEC, render_mesh, service_ports, start_envoy, write_lane_map
from runner.processes import Child, stop_all

__all__ = ["HERE", "MESHES", "Stack", "StartupError", "Version", "free_port"]

HERE = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
_INHERITED_OUT = (
    "LANE_ID",
    "PR_ID",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "LANECTX_SERVICE",
    "LANECTX_ROUTING",
    "LANECTX_LANE_MAP",
)
MESHES = ("envoy", "none")
EDGE = "productpage"  # the service behind the ingress
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy")


class StartupError(RuntimeError):
    """A process of the stack did not start; the message names it and its log."""


@dataclass
class Version:
    """One deployed version of a service: a Deployment rendered to a process."""

    service: str
    version: str
    protocol: str
    env: dict[str, str]
    port: int = 0
    """The port it listens on: known once it has started (`Stack.start`)."""
    child: Child | None = None

    @property
    def name(self) -> str:
        """``<service>-<version>``, as the Deployment is named."""
        return f"{self.service}-{self.version}"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _versions(objects: Sequence[Mapping[str, Any]], protocols: Mapping[str, str]) -> list[Version]:
    versions = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        labels = obj["metadata"]["labels"]
        container = obj["spec"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item["value"] for item in container.get("env", [])}
        service = labels["app"]
        versions.append(Version(service, labels["version"], protocols[service], env))
    return versions


def _healthy(version: Version) -> bool:
    """True when the version answers: /healthz for HTTP, an open port for gRPC."""
    try:
        if version.protocol == "grpc":
            with socket.create_connection(("127.0.0.1", version.port), timeout=0.5):
                return True
        connection = http.client.HTTPConnection("127.0.0.1", version.port, timeout=0.5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except OSError:
        return False


class Stack:
    """The running stack: versions, Envoy on 127.0.0.1:*port*; a context manager."""

    def __init__(
        self,
        lanes: Mapping[str, Sequence[str]],
        port: int,
        run_dir: Path,
        otlp_endpoint: str | None = None,
        spec: Path = SPEC,
        mesh: str = "envoy",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        if mesh not in MESHES:
            raise ValueError(f"mesh must be one of {', '.join(MESHES)}, not {mesh!r}")
        self.extra_env = dict(extra_env or {})
        self.port = port
        self.run_dir = run_dir
        self.mesh = mesh
        target = "istio" if mesh == "envoy" else "kubernetes"
        self.objects = render_mesh(spec, lanes, target)
        self.versions = _versions(self.objects, service_ports(spec))
        if mesh == "none":
            self.version(f"{EDGE}-stable").port = port  # no proxy: the edge is the ingress
        self.lane_map = run_dir / "lanes.json"
        self.otlp_endpoint = otlp_endpoint
        self.envoy: EnvoyProcess | None = None

    @property
    def url(self) -> str:
        """The product page behind the local ingress."""
        return f"http://127.0.0.1:{self.port}/productpage"

    def _env(self, version: Version) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _INHERITED_OUT and k.lower() not in _PROXY_VARS
        }
        env.update(version.env)
        env.update(
            HOST="127.0.0.1",
            PORT=str(version.port),  # 0 but for the edge without a mesh: the ingress port
            PORT_FILE=str(self._port_file(version)),
            PYTHONUNBUFFERED="1",
            LANECTX_SERVED_HEADER="x-lane-served",  # each answer names the version that served it
        )
        if self.mesh == "none":
            env.update(LANECTX_LANE_MAP=str(self.lane_map))
        else:
            mesh = f"127.0.0.1:{self.port}"
            env.update(
                HTTP_PROXY=f"http://{mesh}",  # the local "sidecar": every HTTP call via Envoy
                NO_PROXY="127.0.0.1,localhost",
                no_proxy="127.0.0.1,localhost",
                RATINGS_TARGET=mesh,
                RATINGS_AUTHORITY="ratings",
            )
        env.update(self.extra_env)
        if self.otlp_endpoint:
            env.update(
                OTEL_EXPORTER_OTLP_ENDPOINT=self.otlp_endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
            )
        return env

    def _port_file(self, version: Version) -> Path:
        return self.run_dir / f"{version.name}.port"

    def start(self) -> None:
        """Start every version in parallel, then Envoy (or the lane map) once every port is
        known; return once all are healthy."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.mesh == "none" and not _port_free(self.port):
            raise StartupError(f"the ingress port {self.port} is taken")
        for version in self.versions:
            self._port_file(version).unlink(missing_ok=True)
            version.child = Child(
                version.name,
                [sys.executable, "-m", version.service],
                self._env(version),
                self.run_dir,
                HERE,
            )
            version.child.start()
        self._wait_ports()
        endpoints = {(v.service, v.version): ("127.0.0.1", v.port) for v in self.versions}
        if self.mesh == "none":
            write_lane_map(self.objects, endpoints, self.lane_map)
        else:
            try:
                workdir = self.run_dir / "envoy"
                self.envoy = start_envoy(self.objects, endpoints, self.port, workdir)
            except (RuntimeError, OSError) as err:
                raise StartupError(
                    f"envoy failed to start: {err} (log: {self.run_dir}/envoy)"
                ) from err
        self._wait_healthy()

    def _failed(self, version: Version) -> None:
        """Raise `StartupError` if *version*'s process has ended."""
        child = version.child
        if child is not None and child.exit_code() is not None:
            raise StartupError(
                f"{version.name} failed to start (exit status {child.exit_code()}); "
                f"log: {child.log_path}\n{child.log_tail()}"
            )

    def _reported_port(self, version: Version) -> bool:
        """Read the port *version* reported into `Version.port`; False until it has."""
        try:
            version.port = int(self._port_file(version).read_text(encoding="ascii"))
        except (FileNotFoundError, ValueError):  # not yet
            return False
        return True

    def _wait_ports(self) -> None:
        """Wait until every version has reported the port it bound."""
        self._wait_for(self._reported_port, "no port reported", 0.02)

    def _wait_healthy(self) -> None:
        self._wait_for(_healthy, "not healthy", 0.05)

    def _wait_for(self, ready: Callable[[Version], bool], what: str, pause: float) -> None:
        """Wait until *ready* is true of every version; a version that exits, or
        `START_TIMEOUT`, raises `StartupError` (*what* says what was missing)."""
        waiting = list(self.versions)
        deadline = time.monotonic() + START_TIMEOUT
        while waiting:
            for version in list(waiting):
                self._failed(version)
                if ready(version):
                    waiting.remove(version)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(v.name for v in waiting)
                logs = ", ".join(str(v.child.log_path) for v in waiting if v.child)
                raise StartupError(f"{what} after {START_TIMEOUT:.0f}s: {names}; logs: {logs}")
            if waiting:
                time.sleep(pause)

    def version(self, name: str) -> Version:
        """Return the version called *name* (``reviews-pr-7``)."""
        return next(v for v in self.versions if v.name == name)

    def crashed(self) -> list[Version]:
        """Return the versions whose process has ended."""
        return [v for v in self.versions if v.child is not None and v.child.exit_code() is not None]

    def write_state(self, path: Path) -> None:
        """Write pids, ports and logs of every process as JSON to *path*."""
        state = {
            v.name: {"pid": v.child.pid, "port": v.port, "log": str(v.child.log_path)}
            for v in self.versions
            if v.child is not None
        }
        if self.mesh == "envoy":
            state["envoy"] = {"port": self.port, "log": str(self.run_dir / "envoy" / "envoy.log")}
        else:
            state["lane_map"] = {"path": str(self.lane_map)}
        path.write_text(json.dumps(state, indent=1), encoding="utf-8")

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after a grace period)."""
        stop_all([v.child for v in self.versions if v.child is not None])
        if self.envoy is not None:
            self.envoy.stop()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
