"""The process's own lane, for the resource attribute ``service.lane``.

LANE_ID=pr-7 python app.py     # or PR_ID=7
lanectx.resource()             # {'service.lane': 'pr-7'}
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from ._lane import is_valid_lane, lane_from_pr_id

__all__ = ["RESOURCE_ATTRIBUTE", "process_lane", "process_service", "resource"]

RESOURCE_ATTRIBUTE = "service.lane"
logger = logging.getLogger("lanectx")


def process_lane(environ: Mapping[str, str] | None = None) -> str | None:
    """Return this process's lane from ``LANE_ID`` (or ``PR_ID``), None when stable."""
    env = os.environ if environ is None else environ
    raw = env.get("LANE_ID", "").strip()
    if raw:
        if is_valid_lane(raw):
            return raw
        logger.warning("ignoring invalid LANE_ID=%r", raw[:64])
    number = env.get("PR_ID", "").strip()
    if number:
        lane = lane_from_pr_id(number)
        if lane is not None:
            return lane
        logger.warning("ignoring invalid PR_ID=%r", number[:64])
    return None


def process_service(environ: Mapping[str, str] | None = None) -> str | None:
    """Return this process's service name: ``LANECTX_SERVICE``, else ``OTEL_SERVICE_NAME``."""
    env = os.environ if environ is None else environ
    for name in ("LANECTX_SERVICE", "OTEL_SERVICE_NAME"):
        value = env.get(name, "").strip().lower()
        if value:
            return value
    return None


def resource(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the resource attributes of this process's lane (empty when stable)."""
    lane = process_lane(environ)
    return {} if lane is None else {RESOURCE_ATTRIBUTE: lane}
