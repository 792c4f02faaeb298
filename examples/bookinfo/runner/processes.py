"""Child processes in their own process groups, stopped with SIGTERM then SIGKILL.

For example::

    child = Child("reviews-pr-7", [sys.executable, "-m", "reviews"], env, log_dir)
    child.start()
    ...
    child.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["Child", "stop_all"]

GRACE_SECONDS = 3.0


class Child:
    """One named child process, its log file in *log_dir*, started in a new session."""

    def __init__(
        self, name: str, command: list[str], env: Mapping[str, str], log_dir: Path, cwd: Path
    ) -> None:
        self.name = name
        self.command = command
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        """Start the process; its output goes to the log file."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exit_code(self) -> int | None:
        """The exit status if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 8) -> str:
        """The last *lines* of the log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def signal_group(self, sig: int) -> None:
        """Send *sig* to the child's process group (ignored once it is gone)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM the process group, SIGKILL it after *grace* seconds, reap the child."""
        stop_all([self], grace)


def stop_all(children: Iterable[Child], grace: float = GRACE_SECONDS) -> None:
    """Stop *children* together: SIGTERM all, wait up to *grace*, SIGKILL the rest."""
    running = [c for c in children if c.process is not None]
    for child in running:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in running:
        assert child.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for child in running:
        assert child.process is not None
        child.signal_group(signal.SIGKILL)
        if child.process.poll() is None:
            child.process.wait(timeout=5)
