"""Figures the reliability tests measured, printed at the end of the run.

With ``LANECTX_RELIABILITY_REPORT=<path>`` they are also written there as JSON
(``make reliability`` does this; docs/reliability.md quotes the result).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}
FUZZ_CASES: Counter[str] = Counter()
_lock = threading.Lock()


def record(name: str, **figures: Any) -> None:
    """Keep *figures* under *name* (a later call for the same name adds to it)."""
    with _lock:
        FIGURES.setdefault(name, {}).update(figures)


def fuzz_case(target: str) -> None:
    """Count one hypothesis case run against *target*."""
    with _lock:
        FUZZ_CASES[target] += 1


def summary() -> dict[str, Any]:
    """All figures, fuzz cases included (with their total)."""
    figures = dict(FIGURES)
    if FUZZ_CASES:
        figures["fuzz_cases"] = {**dict(sorted(FUZZ_CASES.items())), "total": FUZZ_CASES.total()}
    return figures


def write(path: str | None = None) -> None:
    """Write the figures as JSON to *path* (default: ``$LANECTX_RELIABILITY_REPORT``)."""
    path = path or os.environ.get("LANECTX_RELIABILITY_REPORT")
    if path and (FIGURES or FUZZ_CASES):
        Path(path).write_text(json.dumps(summary(), indent=2) + "\n")
