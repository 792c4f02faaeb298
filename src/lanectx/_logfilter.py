"""A `logging.Filter` that puts the request's lane on every record.

handler.addFilter(LaneLogFilter())
logging.Formatter("%(levelname)s [%(lane_id)s] %(message)s")
"""

from __future__ import annotations

import logging

from ._context import current_lane

__all__ = ["LaneLogFilter"]


class LaneLogFilter(logging.Filter):
    """Set ``record.lane_id`` to the current lane (*default* when there is none)."""

    def __init__(self, name: str = "", default: str = "-") -> None:
        super().__init__(name)
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate *record*; never drops it."""
        record.lane_id = current_lane() or self.default
        return True
