"""The demo's asynchronous hop: redis-server, and a stable and a pr-7 notifier worker.

For example::

    with EventHop(run_dir) as events:      # events.env goes to every reviews process
        ...
        events.handled()                   # [{"event": ..., "lane": ..., "handled_by": ...}]

The lane map lists ``notifier: [pr-7]``: pr-7's events go to its own worker, every
other lane's events fall back to stable's. Without redis-server on PATH the hop is
skipped (``events.available`` is False) and the demo says so.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from runner.processes import Child, stop_all
from runner.stack import HERE, free_port

__all__ = ["NOTIFIER_LANES", "EventHop"]

NOTIFIER_LANES = ("pr-7",)
READY_SECONDS = 30.0


class EventHop:
    """redis-server plus the notifier workers, as a context manager."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.log = run_dir / "notifier-events.jsonl"
        self.children: list[Child] = []
        self.available = shutil.which("redis-server") is not None
        self.env: dict[str, str] = {}

    def __enter__(self) -> EventHop:
        if not self.available:
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        port = self._start_redis()
        self.env = {"EVENTS_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
        lanes = self.run_dir / "notifier-lanes.json"  # beside the services' lanes.json
        lanes.write_text(json.dumps({"services": {"notifier": list(NOTIFIER_LANES)}}))
        try:
            for lane in (None, *NOTIFIER_LANES):
                env = {
                    **{k: v for k, v in os.environ.items() if k not in ("LANE_ID", "PR_ID")},
                    **self.env,
                    "LANECTX_SERVICE": "notifier",
                    "LANECTX_LANE_MAP": str(lanes),
                    "NOTIFIER_LOG": str(self.log),
                    "PYTHONUNBUFFERED": "1",
                    **({"LANE_ID": lane} if lane else {}),
                }
                child = Child(
                    f"notifier-{lane or 'stable'}",
                    [sys.executable, "-m", "notifier"],
                    env,
                    self.run_dir,
                    HERE,
                )
                self.children.append(child)
                child.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_redis(self, attempts: int = 3) -> int:
        """Start redis-server on a free port; return the port once it answers.

        A port picked free can be taken before redis binds it: redis then exits, and
        another port is tried.
        """
        for _ in range(attempts):
            port = free_port()
            redis = Child(
                "redis",
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                {},
                self.run_dir,
                self.run_dir,
            )
            self.children.append(redis)
            redis.start()
            deadline = time.monotonic() + READY_SECONDS
            while redis.exit_code() is None and time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    return port
                except OSError:
                    time.sleep(0.05)
            redis.stop()
            self.children.remove(redis)
        raise RuntimeError(f"redis-server did not start; log: {self.run_dir}/redis.log")

    def handled(self) -> list[dict[str, Any]]:
        """Every event handled so far, one dict per event."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def wait(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until *count* events were handled (or *timeout*); return them."""
        deadline = time.monotonic() + timeout
        while len(self.handled()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.handled()

    def stop(self) -> None:
        """Stop the workers (SIGTERM: a graceful stop), then redis-server."""
        stop_all([c for c in self.children if c.name != "redis"], grace=10)
        stop_all([c for c in self.children if c.name == "redis"])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
