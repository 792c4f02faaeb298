"""threading.Thread and threading.Timer run in the context current when they were started."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import lanectx


def _seen_by(start: type[threading.Thread], **kwargs: object) -> list[str | None]:
    seen: list[str | None] = []

    def work() -> None:
        seen.append(lanectx.current_lane())

    if start is threading.Timer:
        thread: threading.Thread = threading.Timer(0.001, work)
    else:
        thread = threading.Thread(target=work, **kwargs)  # type: ignore[arg-type]
    thread.start()
    thread.join(10)
    return seen


def test_thread_carries_the_lane_only_when_instrumented() -> None:
    """A Thread started in a lane runs without it, and with it once instrumented."""
    with lanectx.use_lane("pr-2"):
        assert _seen_by(threading.Thread) == [None]
        lanectx.instrument()
        assert _seen_by(threading.Thread) == ["pr-2"]
        lanectx.uninstrument()
        assert _seen_by(threading.Thread) == [None]


def test_timer_carries_the_lane() -> None:
    """A Timer's function runs in the lane current when the timer was started."""
    lanectx.instrument()
    with lanectx.use_lane("pr-3"):
        assert _seen_by(threading.Timer) == ["pr-3"]


def test_subclass_overriding_run_carries_the_lane() -> None:
    """A Thread subclass with its own run() sees the starting lane too."""
    lanectx.instrument()
    seen: list[str | None] = []

    class Worker(threading.Thread):
        def run(self) -> None:
            seen.append(lanectx.current_lane())

    with lanectx.use_lane("pr-4"):
        worker = Worker()
    with lanectx.use_lane("pr-5"):
        worker.start()  # the context at start(), not at construction
    worker.join(10)
    assert seen == ["pr-5"]


def test_thread_started_without_a_lane_has_none() -> None:
    """A thread started outside any lane runs without one; distinct threads keep their own."""
    lanectx.instrument()
    assert _seen_by(threading.Thread) == [None]
    results: dict[int, str | None] = {}

    def work(n: int) -> None:
        results[n] = lanectx.current_lane()

    threads = []
    for n in range(8):
        with lanectx.use_lane(f"pr-{n}"):
            thread = threading.Thread(target=work, args=(n,))
            thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(10)
    assert results == {n: f"pr-{n}" for n in range(8)}


def test_pool_workers_do_not_keep_the_first_callers_lane() -> None:
    """A pool worker started by a lane's submit does not hand that lane to later work."""
    lanectx.instrument()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with lanectx.use_lane("pr-4"):
            assert pool.submit(lanectx.current_lane).result() == "pr-4"
        lanectx.uninstrument()  # the executor patch is gone; the worker thread is not
        assert pool.submit(lanectx.current_lane).result() is None
