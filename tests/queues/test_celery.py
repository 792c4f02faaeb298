"""Celery on real Redis and RabbitMQ brokers: the lane on publish, in the task body, on retries."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, chain
from celery.contrib.testing.worker import start_worker

import lanectx

Result = Callable[[], tuple[str, "str | None", dict[str, Any]]]


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """The URL of each real broker in turn."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def make_app(broker_url: str, seen: queue.Queue[tuple[str, str | None, dict[str, Any]]]) -> Celery:
    """A Celery app whose tasks report the lane they ran in."""
    app = Celery("lanes", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=f"lanes-{id(seen)}",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    def report(name: str, task: Any) -> None:
        extra = {"x-tenant": getattr(task.request, "x-tenant", None)}
        seen.put((name, lanectx.current_lane(), extra))

    @app.task(bind=True, shared=False, name="record")
    def record(self: Any, label: str) -> str:
        report(label, self)
        return label

    @app.task(bind=True, shared=False, name="flaky", max_retries=2, default_retry_delay=0)
    def flaky(self: Any) -> None:
        report(f"flaky-{self.request.retries}", self)
        if self.request.retries < 1:
            raise self.retry(countdown=0)

    @app.task(bind=True, shared=False, name="step")
    def step(self: Any, value: str) -> str:
        report(f"step-{value}", self)
        return value + "+"

    return app


@pytest.fixture(scope="module")
def running(broker_url: str) -> Iterator[tuple[Celery, Result]]:
    """A Celery app with a real in-process worker, one per broker; yields (app, next result)."""
    seen: queue.Queue[tuple[str, str | None, dict[str, Any]]] = queue.Queue()
    app = make_app(broker_url, seen)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=60):
        yield app, lambda: seen.get(timeout=20)


@pytest.fixture
def worker(running: tuple[Celery, Result]) -> tuple[Celery, Result]:
    """The running worker, with lanectx instrumented for this test."""
    lanectx.instrument()
    return running


def test_task_runs_in_the_lane_it_was_published_in(worker: Any) -> None:
    """A task published in a lane runs in that lane; one published without a lane has none."""
    app, result = worker
    with lanectx.use_lane("pr-7"):
        app.send_task("record", ("in-lane",))
    assert result() == ("in-lane", "pr-7", {"x-tenant": None})
    app.send_task("record", ("no-lane",))
    assert result() == ("no-lane", None, {"x-tenant": None})


def test_caller_headers_stay_beside_the_lane(worker: Any) -> None:
    """Headers the caller passes to apply_async reach the task beside the lane."""
    app, result = worker
    with lanectx.use_lane("pr-8"):
        app.tasks["record"].apply_async(("tenant",), headers={"x-tenant": "acme"})
    assert result() == ("tenant", "pr-8", {"x-tenant": "acme"})


def test_retry_chain_and_countdown_keep_the_lane(worker: Any) -> None:
    """A retried task, each step of a chain, and a task with a countdown keep their lane."""
    app, result = worker
    with lanectx.use_lane("pr-9"):
        app.tasks["flaky"].delay()
    assert [result()[:2], result()[:2]] == [("flaky-0", "pr-9"), ("flaky-1", "pr-9")]
    with lanectx.use_lane("pr-10"):
        chain(app.tasks["step"].s("a"), app.tasks["step"].s()).apply_async()
    assert [result()[:2], result()[:2]] == [("step-a", "pr-10"), ("step-a+", "pr-10")]
    with lanectx.use_lane("pr-11"):
        app.tasks["record"].apply_async(("later",), countdown=1)
    assert result()[:2] == ("later", "pr-11")


@pytest.mark.parametrize("otel_first", [True, False], ids=["otel-first", "lanectx-first"])
def test_lane_beside_opentelemetry_celery_instrumentation(
    running: tuple[Celery, Result], otel_first: bool
) -> None:
    """With OTel's CeleryInstrumentor installed before or after lanectx, tasks keep the lane."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    app, result = running
    otel = CeleryInstrumentor()
    if otel_first:
        otel.instrument()
        lanectx.instrument()
    else:
        lanectx.instrument()
        otel.instrument()
    try:
        with lanectx.use_lane("pr-12"):
            app.tasks["flaky"].delay()
        assert [result()[:2], result()[:2]] == [("flaky-0", "pr-12"), ("flaky-1", "pr-12")]
        app.send_task("record", ("after",))
        assert result()[:2] == ("after", None)
    finally:
        otel.uninstrument()


@pytest.mark.parametrize("otel_first", [True, False], ids=["otel-first", "lanectx-first"])
def test_consume_span_is_a_hop_beside_opentelemetry_celery(
    running: tuple[Celery, Result], otel_first: bool
) -> None:
    """The task's consume span carries the message's lane and the hop outcome, either order."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from lanectx.telemetry import LaneSpanProcessor

    app, result = running
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LaneSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel = CeleryInstrumentor()
    if otel_first:
        otel.instrument(tracer_provider=provider)
        lanectx.instrument()
    else:
        lanectx.instrument()
        otel.instrument(tracer_provider=provider)
    try:
        with lanectx.use_lane("pr-13"):
            app.send_task("record", ("hop",))
        assert result()[:2] == ("hop", "pr-13")
        app.send_task("record", ("no-hop",))
        assert result()[:2] == ("no-hop", None)
        provider.force_flush()
        runs = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CONSUMER]
        marks = [(s.attributes or {}).get("lane.hop") for s in runs]
        lanes = [(s.attributes or {}).get("lane.id") for s in runs]
        # This worker is stable (no LANE_ID): a lane's task here is a fallback hop.
        assert marks[-2:] == ["fallback", "none"]
        assert lanes[-2:] == ["pr-13", None]
    finally:
        otel.uninstrument()
        provider.shutdown()


@pytest.mark.parametrize(
    "headers",
    [
        {"x-lane-id": "Not A Lane!"},
        {"x-lane-id": "pr-" + "7" * 60},
        {"baggage": "lane=pr-5," + "a=" + "x" * 9000},
        {"x-pr-id": "12; DROP"},
    ],
    ids=["invalid", "too-long", "huge-baggage", "bad-pr-id"],
)
def test_bad_lane_headers_run_the_task_with_no_lane(
    running: tuple[Celery, Result], headers: dict[str, str]
) -> None:
    """A message whose lane headers are invalid or whose baggage is huge runs with no lane."""
    app, result = running
    # Published by a producer without lanectx (which never sends such headers); the
    # countdown makes the worker run it after lanectx is instrumented.
    app.send_task("record", ("bad",), headers={**headers, "x-tenant": "kept"}, countdown=1)
    lanectx.instrument()
    assert result() == ("bad", None, {"x-tenant": "kept"})


def test_good_lane_from_a_foreign_producer_is_honoured(running: tuple[Celery, Result]) -> None:
    """A message from another producer with only a baggage lane member runs in that lane."""
    app, result = running
    app.send_task("record", ("foreign",), headers={"baggage": "a=1, lane = pr-6 ;p=1"}, countdown=1)
    lanectx.instrument()
    assert result()[:2] == ("foreign", "pr-6")
