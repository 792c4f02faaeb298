"""Fixtures of the controller tests: the mock API server, a client for it, a base spec."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the controller extra is not installed")
pytest.importorskip("prometheus_client", reason="the controller extra is not installed")

from lanectx.controller import LaneController, Metrics, connect
from lanectx.controller._kube import Kube

from .kube_mock import KubeMock

NAMESPACE = "shop"
BASE_SPEC = """\
namespace: shop
services:
  productpage: {port: 9080, image: "productpage:stable"}
  reviews: {port: 9080, image: "reviews:stable"}
  ratings: {port: 50051, protocol: grpc, image: "ratings:stable"}
"""


def lane_object(name: str, services: dict[str, str], ttl: str | None = None) -> dict[str, Any]:
    """A Lane object as `lanectx lane create` writes it."""
    spec: dict[str, Any] = {
        "services": [{"name": svc, "image": image} for svc, image in services.items()]
    }
    if ttl is not None:
        spec["ttl"] = ttl
    return {
        "apiVersion": "lanectx.dev/v1alpha1",
        "kind": "Lane",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


@pytest.fixture
def mock() -> Iterator[KubeMock]:
    """A running mock API server."""
    with KubeMock() as server:
        yield server


@pytest.fixture
def kubeconfig(mock: KubeMock, tmp_path: Path) -> Path:
    """A kubeconfig file pointing at the mock."""
    return mock.kubeconfig(tmp_path)


@pytest.fixture
def kube(kubeconfig: Path) -> Kube:
    """The controller's client, connected to the mock through the kubeconfig."""
    return connect(str(kubeconfig))


@pytest.fixture
def base_spec(tmp_path: Path) -> Path:
    """The base spec file of stable services the controller is given."""
    path = tmp_path / "lanes.yaml"
    path.write_text(BASE_SPEC, encoding="utf-8")
    return path


@pytest.fixture
def make_controller(kube: Kube, base_spec: Path) -> Callable[..., LaneController]:
    """Factory of controllers for the mock's ``shop`` namespace (fresh metrics each)."""

    def make(**options: Any) -> LaneController:
        options.setdefault("watch_timeout", 1)
        return LaneController(kube, NAMESPACE, base_spec, metrics=Metrics(), **options)

    return make


class Running:
    """A controller running in a thread; ``stop()`` ends it and waits."""

    def __init__(self, controller: LaneController) -> None:
        self.controller = controller
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=controller.run, args=(self.stop_event,))
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the controller did not stop"


@pytest.fixture
def start_controller(
    make_controller: Callable[..., LaneController],
) -> Iterator[Callable[..., Running]]:
    """Factory: start a controller loop in a thread; every one is stopped at the end."""
    started: list[Running] = []

    def start(**options: Any) -> Running:
        running = Running(make_controller(**options))
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()


ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT.parent / "shared" / "tools" / "validate-manifests"


def validate_manifests(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the shared strict manifest validator on *paths*; skip when ../shared is absent."""
    if not VALIDATOR.exists():
        pytest.skip("../shared/tools/validate-manifests is not available")
    return subprocess.run(
        [sys.executable, str(VALIDATOR), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
