"""The Lane controller: Lane objects in, lane workloads, routes and the lane map out.

Needs the ``controller`` extra (the official ``kubernetes`` client, ``prometheus-client``,
PyYAML)::

    from lanectx.controller import LaneController, connect

    controller = LaneController(connect(), "bookinfo", Path("lanes.yaml"))
    controller.run(threading.Event())

`plan` is the reconcile as a pure function; see ``docs/controller.md``.
"""

from __future__ import annotations

from ._controller import MANAGED_KINDS, ControllerError, LaneController
from ._kube import Kube, KubeError, connect
from ._lanes import API_VERSION, KIND
from ._metrics import Metrics
from ._reconcile import MANAGER, LanePlan, Plan, plan
from ._status import EXPIRED, FAILED, PENDING, PHASES, READY

__all__ = [
    "API_VERSION",
    "EXPIRED",
    "FAILED",
    "KIND",
    "MANAGED_KINDS",
    "MANAGER",
    "PENDING",
    "PHASES",
    "READY",
    "ControllerError",
    "Kube",
    "KubeError",
    "LaneController",
    "LanePlan",
    "Metrics",
    "Plan",
    "connect",
    "plan",
]
