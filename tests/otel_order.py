"""lanectx beside OpenTelemetry instrumentors, installed before or after it, undone in reverse."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import lanectx
from lanectx import LaneConfig

ORDERS = ["plain", "otel-first", "otel-last"]


@contextmanager
def beside_otel(order: str, otel: Sequence[Any]) -> Iterator[Callable[..., None]]:
    """Yield a function that instruments lanectx alone ("plain") or with *otel* before/after.

    On exit everything is undone in reverse order of installation.
    """

    def run(config: LaneConfig | None = None) -> None:
        if order == "otel-first":
            for instrumentor in otel:
                instrumentor.instrument()
        lanectx.instrument(config)
        if order == "otel-last":
            for instrumentor in otel:
                instrumentor.instrument()

    run.otel = order != "plain"  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        if order == "otel-last":
            for instrumentor in otel:
                instrumentor.uninstrument()
        lanectx.uninstrument()
        if order == "otel-first":
            for instrumentor in otel:
                instrumentor.uninstrument()
