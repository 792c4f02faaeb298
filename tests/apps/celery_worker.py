"""A Celery app for isolation tests: its task writes "<label> <lane> <worker side>" to a file.

TEST_BROKER_URL=redis://... TEST_QUEUE=q TEST_RESULTS=/tmp/r LANE_ID=pr-7 \
    python -m celery -A tests.apps.celery_worker worker --pool solo
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery, signals

import lanectx

lanectx.instrument()

SIDE = os.environ.get("LANE_ID") or "stable"
RESULTS = os.environ["TEST_RESULTS"]

app = Celery("notifier", broker=os.environ["TEST_BROKER_URL"], set_as_current=False)
app.conf.update(
    task_default_queue=os.environ["TEST_QUEUE"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def _write(line: str) -> None:
    with open(RESULTS, "a") as file:
        file.write(line + "\n")


@app.task(name="record", shared=False)
def record(label: str) -> None:
    """Note which worker ran *label*, and in which lane ("slow-" labels take a second)."""
    if label.startswith("slow-"):
        _write(f"begin {label}")
        time.sleep(1)
    _write(f"{label} {lanectx.current_lane()} {SIDE}")


@signals.worker_ready.connect
def _ready(**_: Any) -> None:
    _write(f"ready - {SIDE}")
