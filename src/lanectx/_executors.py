"""Carry the caller's context into `ThreadPoolExecutor` work (and so `run_in_executor`).

with use_lane("pr-7"):
    pool.submit(current_lane).result()   # 'pr-7' once instrumented
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._patch import patch

__all__: list[str] = []


def _install() -> Callable[[], None]:
    """Patch `ThreadPoolExecutor.submit` to run work in a copy of the caller's context."""

    def make(original: Any, switch: Any) -> Any:
        @functools.wraps(original)
        def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if not switch.on:
                return original(self, fn, *args, **kwargs)
            return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

        return submit

    return patch(ThreadPoolExecutor, "submit", make)
