"""Kubernetes Events about Lanes: the audit trail of every change the controller makes.

event = lane_event("shop", "pr-7", uid, ("Normal", "Ready", "Pending -> Ready"), now)
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

from ._lanes import API_VERSION, KIND, Manifest, format_time

__all__ = ["COMPONENT", "lane_event"]

COMPONENT = "lanectx.dev/controller"
_MESSAGE_LIMIT = 1024


def lane_event(
    namespace: str,
    lane: str,
    uid: str,
    what: tuple[str, str, str],
    now: datetime,
    instance: str | None = None,
) -> Manifest:
    """Return a core/v1 Event about Lane *lane*; *what* is (type, reason, message)."""
    kind, reason, message = what
    stamp = format_time(now)
    involved = {"apiVersion": API_VERSION, "kind": KIND, "name": lane, "namespace": namespace}
    if uid:
        involved["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{lane}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": involved,
        "type": kind,
        "reason": reason,
        "message": message[:_MESSAGE_LIMIT],
        "source": {"component": "lanectx-controller"},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance or os.environ.get("HOSTNAME", "lanectx-controller"),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
