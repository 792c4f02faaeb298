"""The notifier's Celery app: task ``review_viewed`` appends one JSON line per event.

For example::

    app = make_app("redis://127.0.0.1:6379/0", "stable", Path("/tmp/events.jsonl"))

The task body contains no lane code: ``lanectx.instrument()`` (in ``start_service``)
makes the event's lane current, and keeps a lane's events away from stable's worker.
"""

from __future__ import annotations

import json
from pathlib import Path

from celery import Celery

import lanectx

__all__ = ["QUEUE", "TASK", "make_app"]

QUEUE = "notifier"
TASK = "review_viewed"


def make_app(broker_url: str, version: str, log: Path) -> Celery:
    """Return the notifier app answering as *version*, writing handled events to *log*."""
    app = Celery("notifier", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK, shared=False)
    def review_viewed(event_id: str, product_id: int) -> None:
        line = {"event": event_id, "product": product_id, "lane": lanectx.current_lane()}
        with log.open("a", encoding="utf-8") as file:
            file.write(json.dumps({**line, "handled_by": version}) + "\n")

    return app
