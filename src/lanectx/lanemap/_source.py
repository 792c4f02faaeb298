"""Keep a lane map file loaded: checked at most every `CHECK_INTERVAL` seconds, never per call.

source = LaneMapSource("/etc/lanectx/lanes.json")
source.current().lanes("reviews")   # frozenset({'pr-31'})

A change is noticed by the file's identity and times (``os.stat``, which follows the
``..data`` symlink a Kubernetes ConfigMap volume swaps), so a replaced, rewritten or
newly created file is read again within one interval. A missing file is an empty
map; a malformed one keeps the last good map and is logged once at WARNING.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from ._map import EMPTY, LaneMap, LaneMapError, parse_lane_map

__all__ = ["CHECK_INTERVAL", "LaneMapSource"]

logger = logging.getLogger("lanectx")

CHECK_INTERVAL = 0.5
_MAX_BYTES = 1 << 20
_Signature = tuple[int, int, int, int, int]


def _signature(path: str) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class LaneMapSource:
    """A lane map file, re-read when it changes; `current()` is safe from any thread."""

    def __init__(self, path: str, interval: float = CHECK_INTERVAL) -> None:
        self.path = path
        self.interval = interval
        self._map = EMPTY
        self._seen: _Signature | None = None
        self._bad: _Signature | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def current(self) -> LaneMap:
        """Return the map in force, checking the file if the interval has passed."""
        if time.monotonic() < self._next_check:
            return self._map
        with self._lock:
            if time.monotonic() >= self._next_check:
                self._refresh()
                self._next_check = time.monotonic() + self.interval
        return self._map

    def _refresh(self) -> None:
        signature = _signature(self.path)
        if signature == self._seen or (signature is not None and signature == self._bad):
            return
        if signature is None:
            if self._seen is not None:
                logger.info("lane map %s is gone: no lanes", self.path)
            self._seen, self._map = None, EMPTY
            return
        try:
            with open(self.path, "rb") as file:
                text = file.read(_MAX_BYTES + 1)
            if len(text) > _MAX_BYTES:
                raise LaneMapError(f"{self.path}: larger than {_MAX_BYTES} bytes")
            lane_map = parse_lane_map(text, self.path)
        except (OSError, LaneMapError) as err:
            if signature != self._bad:
                self._bad = signature
                logger.warning("lane map not loaded, keeping the last good one: %s", err)
            return
        self._seen, self._bad, self._map = signature, None, lane_map
