"""A confluent-kafka consumer for isolation tests: writes "<value> <lane> <side>" per record.

TEST_BOOTSTRAP=127.0.0.1:9092 TEST_TOPIC=t TEST_RESULTS=/tmp/r LANE_ID=pr-7 \
    python tests/apps/kafka_worker.py          # SIGTERM stops it gracefully
"""

from __future__ import annotations

import os
import signal
from typing import Any

import lanectx

lanectx.instrument()

import confluent_kafka  # noqa: E402  (after instrument(), as the docs say)

SIDE = os.environ.get("LANE_ID") or "stable"
RESULTS = os.environ["TEST_RESULTS"]
stopping = False


def _write(line: str) -> None:
    with open(RESULTS, "a") as file:
        file.write(line + "\n")


def _stop(*_: Any) -> None:
    global stopping
    stopping = True


def main() -> None:
    """Consume until SIGTERM, then close (commit and leave the group)."""
    signal.signal(signal.SIGTERM, _stop)
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": os.environ["TEST_BOOTSTRAP"],
            "group.id": "notifier",
            "auto.offset.reset": "earliest",
            # a member gone without leaving is noticed sooner (the mock may not see it leave)
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([os.environ["TEST_TOPIC"]], on_assign=lambda *_: _write(f"ready - {SIDE}"))
    try:
        while not stopping:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                _write(f"{message.value().decode()} {lanectx.current_lane()} {SIDE}")
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
