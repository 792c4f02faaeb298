"""instrument()/uninstrument(): idempotent, thread-safe, reversible, never raising."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
from opentelemetry import propagate
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import lanectx
from lanectx import LaneConfig


def _in_pool() -> str | None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lanectx.current_lane).result()


def test_thread_pools_inherit_the_lane_only_when_instrumented() -> None:
    """ThreadPoolExecutor.submit loses the lane by itself and carries it once instrumented."""
    with lanectx.use_lane("pr-2"):
        assert _in_pool() is None
        lanectx.instrument()
        assert _in_pool() == "pr-2"
        lanectx.uninstrument()
        assert _in_pool() is None


def test_asyncio_executors_carry_the_lane() -> None:
    """run_in_executor and to_thread see the lane of the task that called them."""
    lanectx.instrument()

    async def main() -> tuple[str | None, str | None]:
        loop = asyncio.get_running_loop()
        with lanectx.use_lane("pr-3"):
            in_executor = await loop.run_in_executor(None, lanectx.current_lane)
            in_thread = await asyncio.to_thread(lanectx.current_lane)
        return in_executor, in_thread

    assert asyncio.run(main()) == ("pr-3", "pr-3")


def test_pool_threads_do_not_keep_an_earlier_lane() -> None:
    """A pool thread that ran lane work runs later, lane-less work without a lane."""
    lanectx.instrument()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with lanectx.use_lane("pr-4"):
            assert pool.submit(lanectx.current_lane).result() == "pr-4"
        assert pool.submit(lanectx.current_lane).result() is None


def test_second_call_warns_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """instrument() twice: the second returns False, logs a warning, patches nothing again."""
    assert lanectx.instrument() is True
    send = requests.Session.send
    with caplog.at_level(logging.WARNING, logger="lanectx"):
        assert lanectx.instrument() is False
    assert "already instrumented" in caplog.text
    assert requests.Session.send is send
    assert lanectx.is_instrumented()


def test_concurrent_calls_instrument_once() -> None:
    """Eight threads calling instrument() at once: exactly one does the work."""
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        results.append(lanectx.instrument())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_uninstrument_restores_everything() -> None:
    """After uninstrument() every patched attribute and the propagator are the originals."""
    before = (
        propagate.get_global_textmap(),
        httpx.Client._send_single_request,
        httpx.AsyncClient._send_single_request,
        requests.Session.send,
        ThreadPoolExecutor.submit,
    )
    lanectx.instrument()
    assert requests.Session.send is not before[3]
    assert propagate.get_global_textmap() is not before[0]
    lanectx.uninstrument()
    after = (
        propagate.get_global_textmap(),
        httpx.Client._send_single_request,
        httpx.AsyncClient._send_single_request,
        requests.Session.send,
        ThreadPoolExecutor.submit,
    )
    assert after == before
    assert not lanectx.is_instrumented()
    assert lanectx.instrument() is True  # and it can be done again


def test_existing_propagators_are_kept() -> None:
    """The user's propagator keeps working; the lane propagator is added after it."""
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator()]))
    lanectx.instrument()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    ctx = propagate.extract({"traceparent": parent, "x-pr-id": "8"})
    carrier: dict[str, str] = {}
    propagate.inject(carrier, ctx)
    assert carrier["traceparent"].split("-")[1] == parent.split("-")[1]
    assert carrier["x-lane-id"] == "pr-8"


def test_bad_environment_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad LANECTX_* variable makes instrument() log an error and return False."""
    monkeypatch.setenv("LANECTX_ALLOWED_HOSTS", "http://bad")
    with caplog.at_level(logging.ERROR, logger="lanectx"):
        assert lanectx.instrument() is False
    assert "LANECTX_ALLOWED_HOSTS" in caplog.text.upper() or "allowed_hosts" in caplog.text


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANECTX_ENABLED=false: instrument() does nothing."""
    monkeypatch.setenv("LANECTX_ENABLED", "false")
    send = requests.Session.send
    assert lanectx.instrument() is False
    assert requests.Session.send is send


def test_missing_library_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An optional library that cannot be imported is skipped with a debug log."""
    monkeypatch.setitem(sys.modules, "lanectx.httpx", None)
    send = httpx.Client._send_single_request
    with caplog.at_level(logging.DEBUG, logger="lanectx"):
        assert lanectx.instrument() is True
    assert "skipping httpx" in caplog.text
    assert httpx.Client._send_single_request is send
    assert requests.Session.send is not None


def test_failing_step_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A step that raises is logged; instrument() still returns True and does the rest."""
    from lanectx import _executors

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_executors, "_install", broken)
    send = requests.Session.send
    with caplog.at_level(logging.WARNING, logger="lanectx"):
        assert lanectx.instrument() is True
    assert "could not instrument executors" in caplog.text
    assert requests.Session.send is not send


def test_explicit_config_becomes_active() -> None:
    """The config given to instrument() is the one current_lane() and use_lane() follow."""
    lanectx.instrument(LaneConfig(baggage_key="pr_lane"))
    with lanectx.use_lane("pr-5"):
        from opentelemetry import baggage

        assert baggage.get_baggage("pr_lane") == "pr-5"
        assert lanectx.current_lane() == "pr-5"


def test_use_lane_validates_and_restores() -> None:
    """use_lane rejects a bad lane, nests, clears with None, and restores on exit."""
    with pytest.raises(ValueError, match="invalid lane"), lanectx.use_lane("Bad Lane"):
        pass
    with lanectx.use_lane("pr-1"):
        with lanectx.use_lane("pr-2"):
            assert lanectx.current_lane() == "pr-2"
            with lanectx.use_lane(None):
                assert lanectx.current_lane() is None
        assert lanectx.current_lane() == "pr-1"
    assert lanectx.current_lane() is None
