"""Carry the starting thread's context into `threading.Thread` (and so `threading.Timer`).

with use_lane("pr-7"):
    threading.Thread(target=work).start()   # work() sees 'pr-7' once instrumented

The context is the one current when ``start()`` is called, as `asyncio.to_thread`
and Python 3.14's ``Thread(context=...)`` do; a thread started without a lane
runs without one. `ThreadPoolExecutor` workers are left out: they serve every
caller, and each piece of work already runs in its submitter's context.
"""

from __future__ import annotations

import concurrent.futures.thread
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any

from ._patch import patch

_pool_worker = getattr(concurrent.futures.thread, "_worker", None)

__all__: list[str] = []


def _install() -> Callable[[], None]:
    """Patch `threading.Thread.start` to run the thread in a copy of the caller's context."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def start(self: threading.Thread) -> None:
            if switch.on and getattr(self, "_target", None) is not _pool_worker:
                run = self.run
                ctx = contextvars.copy_context()
                self.run = functools.partial(ctx.run, run)  # type: ignore[method-assign]
            original(self)

        return start

    return patch(threading.Thread, "start", make)
