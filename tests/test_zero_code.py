"""Zero-code: `opentelemetry-instrument` alone turns lanes on (and the env var turns them off)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from .chain import lane_members
from .servers import CaptureServer

APP = Path(__file__).parent / "apps" / "zero_code_app.py"
AIOHTTP_APP = Path(__file__).parent / "apps" / "zero_code_aiohttp.py"
FLASK_APP = Path(__file__).parent / "apps" / "zero_code_flask.py"
INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"


def _run(
    capture: CaptureServer, env: dict[str, str], headers: dict[str, str], app: Path = APP
) -> tuple[Any, str]:
    """Start the app under opentelemetry-instrument, send one request, return (seen, stdout)."""
    full_env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "zero-code",
        **env,
    }
    proc = subprocess.Popen(
        [str(INSTRUMENT), sys.executable, str(app), f"{capture.url}/c"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(1)]
        while not lines[-1].startswith("ready"):
            assert lines[-1], "".join(lines)
            assert len(lines) < 200
            lines.append(proc.stdout.readline())
        port = int(lines[-1].split()[1])
        seen = httpx.get(f"http://127.0.0.1:{port}/hop", headers=headers, timeout=20).json()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return seen, out


@pytest.mark.slow
def test_lanes_flow_with_no_code_change(capture: CaptureServer) -> None:
    """x-pr-id in → x-lane-id and lane baggage out; spans carry lane.id, resource service.lane."""
    env = {"LANE_ID": "pr-9", "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel,lane"}
    seen, out = _run(capture, env, {"x-pr-id": "77"})
    assert seen["headers"]["x-lane-id"] == "pr-77"
    assert lane_members(seen["headers"]) == ["pr-77"]
    assert '"lane.id": "pr-77"' in out
    assert '"service.lane": "pr-9"' in out


@pytest.mark.slow
def test_disabled_instrumentation_sends_no_lane(capture: CaptureServer) -> None:
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=lanectx switches lane propagation off."""
    seen, out = _run(
        capture, {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "lanectx"}, {"x-pr-id": "77"}
    )
    assert "x-lane-id" not in seen["headers"]
    assert lane_members(seen["headers"]) == []
    assert '"lane.id"' not in out


@pytest.mark.slow
def test_aiohttp_server_and_new_clients_with_no_code_change(capture: CaptureServer) -> None:
    """An aiohttp server sees the lane; aiohttp, urllib3 and urllib (in a thread) send it on."""
    seen, _ = _run(capture, {}, {"x-lane-id": "pr-41"}, AIOHTTP_APP)
    assert seen["lane"] == "pr-41"
    for client in ("aiohttp", "urllib3", "urllib"):
        assert seen[client]["headers"]["x-lane-id"] == "pr-41", client
        assert lane_members(seen[client]["headers"]) == ["pr-41"], client


@pytest.mark.slow
def test_flask_app_with_no_code_change(capture: CaptureServer) -> None:
    """A Flask view sees the lane and urllib.request sends it on, with no wrapper or code."""
    seen, _ = _run(capture, {}, {"x-pr-id": "52"}, FLASK_APP)
    assert seen["lane"] == "pr-52"
    assert seen["urllib"]["headers"]["x-lane-id"] == "pr-52"
    assert lane_members(seen["urllib"]["headers"]) == ["pr-52"]
