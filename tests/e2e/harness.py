"""Drive ``examples/bookinfo/run.py`` as a subprocess and find what it left running.

Every runner started here gets a unique ``BOOKINFO_E2E_MARKER`` in its environment;
its children inherit it, so `marked_pids` finds them (and any stray) through /proc.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "examples" / "bookinfo"
RUN_PY = BOOKINFO / "run.py"
MARKER = "BOOKINFO_E2E_MARKER"
DEFAULT_LANES = ("pr-31=reviews,ratings", "pr-314=reviews", "pr-7=ratings")


def marked_pids(marker: str) -> list[int]:
    """Return the live processes whose environment carries *marker*."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Runner:
    """A running ``run.py`` process and what it reported."""

    process: subprocess.Popen[str]
    marker: str
    run_dir: Path
    url: str = ""
    stderr_path: Path = field(default_factory=Path)

    @property
    def port(self) -> int:
        """The ingress port from the ``ready:`` line."""
        return int(self.url.split(":")[2].split("/")[0])

    def state(self) -> dict[str, Any]:
        """The ``--state`` file: pids, ports and logs per process."""
        return dict(json.loads((self.run_dir / "state.json").read_text()))

    def stderr(self) -> str:
        """What the runner wrote on stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send *sig* to the runner and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def environ(pid: int) -> dict[str, str]:
    """Return the environment process *pid* was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").partition("=") for item in raw if item)
    return {name: value for name, _, value in pairs}


def start_runner(
    run_dir: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    wait_ready: bool = True,
    timeout: float = 60.0,
) -> Runner:
    """Start ``run.py up --port 0`` with *args*; wait for its ``ready:`` line."""
    marker = uuid.uuid4().hex
    full_env = {**os.environ, **(env or {}), MARKER: marker}
    run_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = run_dir / "runner.stderr"
    command = [sys.executable, str(RUN_PY), "up", "--port", "0", "--run-dir", str(run_dir)]
    command += ["--state", str(run_dir / "state.json"), *args]
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            command, env=full_env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    runner = Runner(process, marker, run_dir, stderr_path=stderr_path)
    if not wait_ready:
        return runner
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith("ready: "):
                runner.url = line.removeprefix("ready: ").strip()
                return runner
            if not line and process.poll() is not None:
                break
    runner.stop(signal.SIGKILL)
    raise RuntimeError(f"runner not ready: {runner.stderr()}")
