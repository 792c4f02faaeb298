"""Run the notifier worker: ``python -m notifier`` (broker ``EVENTS_BROKER_URL``).

Handled events are appended to ``NOTIFIER_LOG`` (default ``notifier-events.jsonl``).
"""

from __future__ import annotations

import os
from pathlib import Path

from service_base import start_service

from notifier.app import make_app


def main() -> None:
    """Start lanes, then run a one-process worker until SIGTERM (a graceful stop)."""
    version = start_service("notifier")
    log = Path(os.environ.get("NOTIFIER_LOG", "notifier-events.jsonl"))
    app = make_app(os.environ["EVENTS_BROKER_URL"], version, log)
    args = ["worker", "--pool", "solo", "--loglevel", "warning", "-n", f"notifier-{version}@%h"]
    app.worker_main([*args, "--without-heartbeat", "--without-mingle", "--without-gossip"])


if __name__ == "__main__":
    main()
