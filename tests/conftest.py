"""Fixtures shared by every test: a clean lane state, and real servers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import context, propagate

import lanectx
from lanectx._config import set_active_config

from .servers import CaptureServer

_PRISTINE_PROPAGATOR = propagate.get_global_textmap()
_ROOT_LOG_LEVEL = logging.getLogger().level


@pytest.fixture(autouse=True)
def _clean_lane_state() -> Iterator[None]:
    """Every test starts with an empty context and ends uninstrumented, propagator reset."""
    logging.getLogger().setLevel(_ROOT_LOG_LEVEL)  # a Celery worker fixture raises it to ERROR
    token = context.attach(context.Context())
    yield
    context.detach(token)
    lanectx.uninstrument()
    propagate.set_global_textmap(_PRISTINE_PROPAGATOR)
    set_active_config(None)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    """A running capture server on 127.0.0.1."""
    with CaptureServer() as server:
        yield server


def write_lane_map(path: Path, lanes: list[str], lane_server: CaptureServer) -> None:
    """Write (atomically) a lane map: service ``localhost`` has *lanes*, pr-31 at *lane_server*."""
    endpoints = {"localhost": {"pr-31": f"127.0.0.1:{lane_server.port}"}}
    fresh = path.with_suffix(".new")
    fresh.write_text(json.dumps({"services": {"localhost": lanes}, "endpoints": endpoints}))
    fresh.replace(path)


@pytest.fixture
def lane_server() -> Iterator[CaptureServer]:
    """The lane pr-31's version of the service (the stable one is the `capture` server)."""
    with CaptureServer() as server:
        yield server


@pytest.fixture
def lane_map(tmp_path: Path, lane_server: CaptureServer) -> Path:
    """A lane map: service ``localhost`` has a pr-31 version at the lane server."""
    path = tmp_path / "lanes.json"
    write_lane_map(path, ["pr-31"], lane_server)
    return path
