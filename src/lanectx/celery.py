"""Lanes through Celery: the lane travels on publish, and each task runs in its message's lane.

``lanectx.instrument()`` connects three public Celery signals; task code needs nothing::

    lanectx.instrument()
    with lanectx.use_lane("pr-7"):
        add.delay(2, 3)          # message headers x-lane-id: pr-7, baggage: lane=pr-7
    # in the worker, inside add(): lanectx.current_lane() == "pr-7"

``before_task_publish`` sets the message headers (protocol 2; the caller's other
headers stay); ``task_prerun`` makes the message's lane current and ``task_postrun``
restores what was current before. Retries, chains, callbacks and countdown/eta are
published from inside the task body, so they carry its lane. It works beside
OpenTelemetry's ``CeleryInstrumentor``, installed before or after.

Workers are isolated by lane (docs/queues.md): a worker whose ``LANE_ID`` is L
consumes the lane's own queues (``celery-L`` for ``celery``); a stable worker moves
the tasks of lanes the lane map lists for its service (``LANECTX_SERVICE``) there,
and takes their queues over when a lane leaves the map. Call ``lanectx.instrument()``
before the worker starts (at import of the Celery app module).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from celery import signals
from celery.app.task import Task
from opentelemetry import context

from ._baggage import with_member, without_member
from ._celery_lanes import router_for, use_lane_queues, wrap_strategy
from ._config import LaneConfig
from ._context import context_with_lane, current_lane
from ._hop import mark_consume_span
from ._lane import is_valid_lane
from ._messages import message_lane, outgoing_lane
from ._patch import patch
from ._resource import process_lane

__all__ = ["task_lane"]


def task_lane(config: LaneConfig, request: Any) -> str | None:
    """Return the lane of a running task from its request (the message headers)."""
    first = getattr(request, config.first_header, None) if config.first_header else None
    if isinstance(first, str) and is_valid_lane(first):
        return first
    names = (*config.lane_headers, *config.pr_headers, "baggage")
    return message_lane(config, [(name, getattr(request, name, None)) for name in names])


def _publish_headers(config: LaneConfig, headers: dict[str, Any]) -> None:
    lane = outgoing_lane(config)
    key = config.baggage_key
    sent = headers.get("baggage")
    rest = without_member(sent, key) if isinstance(sent, str) else None
    if lane is None:
        for name in (*config.lane_headers, *config.pr_headers, config.outbound_header):
            if name:
                headers.pop(name, None)
        if rest:
            headers["baggage"] = rest
        else:
            headers.pop("baggage", None)
        return
    if config.outbound_header:
        headers[config.outbound_header] = lane
    headers["baggage"] = with_member(rest, key, lane)


class _Running(threading.local):
    """The contexts attached by task_prerun in this thread, by task id."""

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[object, context.Context]] = {}
        self.pending: list[tuple[object, context.Context]] = []


def _install(config: LaneConfig) -> Callable[[], None]:
    """Connect the publish and run signals; return the undo."""
    running = _Running()

    def before_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if isinstance(headers, dict):
            _publish_headers(config, headers)

    def settle_pending() -> None:
        # A receiver connected after ours may detach only after our postrun: our
        # context becomes current again then, and is taken off here, at the next task.
        while running.pending and context.get_current() is running.pending[-1][1]:
            token, _ = running.pending.pop()
            context.detach(token)  # type: ignore[arg-type]
        running.pending.clear()

    def prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        settle_pending()
        if task is None or task_id is None:
            return
        lane = task_lane(config, getattr(task, "request", None))
        mark_consume_span(lane, config)
        if lane == current_lane(None, config):
            return
        before = context.get_current()
        ours = context_with_lane(before, config, lane, trusted=lane is not None)
        running.tasks[task_id] = (context.attach(ours), ours)

    def postrun(task_id: str | None = None, **_: Any) -> None:
        entry = running.tasks.pop(task_id, None) if task_id is not None else None
        if entry is None:
            return
        token, ours = entry
        if context.get_current() is ours:
            context.detach(token)  # type: ignore[arg-type]
        else:
            running.pending.append(entry)

    def worker_init(sender: Any = None, **_: Any) -> None:
        lane = process_lane()
        app = getattr(sender, "app", None)
        if lane is not None and app is not None:
            app._lanectx_originals = use_lane_queues(app, lane)

    def make_start_strategy(original: Any, switch: Any) -> Any:
        def start_strategy(self: Any, app: Any, consumer: Any, **kwargs: Any) -> Any:
            strategy = original(self, app, consumer, **kwargs)
            if not switch.on:
                return strategy
            originals = getattr(app, "_lanectx_originals", {})
            return wrap_strategy(router_for(config, consumer, originals), strategy)

        return start_strategy

    signals.before_task_publish.connect(before_publish, weak=False)
    signals.task_prerun.connect(prerun, weak=False)
    signals.task_postrun.connect(postrun, weak=False)
    signals.worker_init.connect(worker_init, weak=False)
    unpatch = patch(Task, "start_strategy", make_start_strategy)

    def undo() -> None:
        unpatch()
        signals.before_task_publish.disconnect(before_publish)
        signals.task_prerun.disconnect(prerun)
        signals.task_postrun.disconnect(postrun)
        signals.worker_init.disconnect(worker_init)

    return undo
