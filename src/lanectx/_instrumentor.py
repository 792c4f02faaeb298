"""The ``opentelemetry_instrumentor`` entry point ``lanectx`` for zero-code users.

opentelemetry-instrument python app.py      # lanes on, no code change
OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=lanectx opentelemetry-instrument python app.py
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from ._instrument import instrument, uninstrument

__all__ = ["LaneInstrumentor"]

logger = logging.getLogger("lanectx")


class LaneInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Calls `lanectx.instrument()`; never raises, so later instrumentors still run."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """lanectx works with whatever clients are installed."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        try:
            instrument()
        except Exception:
            logger.warning("lanectx: instrumentation failed", exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        try:
            uninstrument()
        except Exception:
            logger.warning("lanectx: uninstrumentation failed", exc_info=True)
