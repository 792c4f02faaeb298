"""The controller loop: watches wake one worker, which reconciles the whole namespace.

    controller = LaneController(connect(), "shop", Path("/etc/lanectx-controller/lanes.yaml"))
    controller.reconcile()               # one round, e.g. in a test
    controller.run(stop_event)           # watches + worker until stop_event is set

One worker, one round at a time: shared routing objects are always rendered from every
Lane as listed at the start of the round, so two Lanes changing at once never lose an
update. Status writes carry the Lane's resourceVersion; a 409 means the Lane changed
meanwhile, and the round is simply run again.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import urllib3
import yaml

from lanectx._config import LaneConfig

from ._events import lane_event
from ._kinds import MANAGED_KINDS, prune_scopes
from ._kube import Kube, KubeError
from ._lanes import API_VERSION, KIND, Manifest
from ._metrics import Metrics
from ._reconcile import (
    LANE_LABEL,
    MANAGER,
    Plan,
    base_problem,
    lane_of,
    plan,
)

__all__ = ["MANAGED_KINDS", "ControllerError", "LaneController"]

logger = logging.getLogger("lanectx.controller")


class ControllerError(Exception):
    """A round could not run (bad base spec); nothing was changed."""


def _reason(err: Exception) -> str:
    """The ``reason`` label of a failed round: conflict, api, spec or unexpected."""
    if isinstance(err, KubeError):
        return "conflict" if err.status == 409 else "api"
    if isinstance(err, (ControllerError, ValueError)):
        return "spec"
    if isinstance(err, (OSError, urllib3.exceptions.HTTPError)):
        return "api"  # the API server cannot be reached
    return "unexpected"


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return str(obj["kind"]), str(meta.get("namespace", "")), str(meta["name"])


class LaneController:
    """Reconciles the Lanes of one namespace (see the module docstring)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        spec_path: Path,
        target: str = "istio",
        metrics: Metrics | None = None,
        resync: float = 300.0,
        watch_timeout: int = 60,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        gateway_namespace: str | None = None,
    ) -> None:
        self.kube, self.namespace, self.spec_path, self.target = kube, namespace, spec_path, target
        self.gateway_namespace = gateway_namespace or namespace  # of the colouring EnvoyFilter
        self.metrics = metrics or Metrics()
        self.resync, self.watch_timeout, self.clock = resync, watch_timeout, clock
        self.settle = 0.05
        self.config = LaneConfig.from_env()  # the headers the gateway colouring filter uses
        self._wake = threading.Event()
        self._round = threading.Lock()
        self._applied: dict[tuple[str, str, str], str] = {}
        self._next_expiry: datetime | None = None
        self._seen: dict[str, str] = {}  # lane -> uid, as of the last round

    def _base(self) -> dict[str, Any]:
        """Read the base spec afresh (a mounted ConfigMap may change under us)."""
        try:
            data = yaml.safe_load(self.spec_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise ControllerError(f"{self.spec_path}: cannot read the base spec: {err}") from None
        problem = base_problem(data)
        if problem is not None:
            raise ControllerError(f"{self.spec_path}: {problem}")
        return dict(data)

    def reconcile(self) -> Plan:
        """Run one round over the namespace; return its plan (raises on a failed round)."""
        with self._round, self.metrics.reconcile_seconds.time():
            base = self._base()
            lanes, _ = self.kube.list(API_VERSION, KIND, self.namespace)
            deployments, _ = self.kube.list("apps/v1", "Deployment", self.namespace, LANE_LABEL)
            now = self.clock()
            planned = functools.partial(
                plan, base, lanes, deployments, now, self.target,
                config=self.config, gateway_namespace=self.gateway_namespace,
            )  # fmt: skip
            result = planned()
            failures = self._apply([obj for obj in result.objects if lane_of(obj)])
            if failures:  # leave those lanes out of the routes
                result = planned(failures)
            self._apply([obj for obj in result.objects if lane_of(obj) is None])
            self._prune(result, now)
            conflict = self._write_statuses(result, now)
            self.metrics.count_phases(str(item.status["phase"]) for item in result.lanes)
            self._next_expiry = result.next_expiry
            if conflict:
                raise KubeError(409, "a Lane changed during the round")
            return result

    def _apply(self, objects: list[Manifest]) -> dict[str, str]:
        """Apply every object not already applied as it is; return apply errors by lane.

        A refused shared object (or any 409) fails the round.
        """
        failures: dict[str, str] = {}
        for obj in objects:
            lane = lane_of(obj)
            if lane in failures:
                continue
            text = json.dumps(obj, sort_keys=True)
            if self._applied.get(_key(obj)) == text:
                continue
            try:
                self.kube.apply(obj, MANAGER)
            except KubeError as err:
                if err.status == 409 or lane is None:
                    raise
                failures[lane] = f"cannot apply {obj['kind']}/{obj['metadata']['name']}: {err}"
                continue
            self._applied[_key(obj)] = text
        return failures

    def _prune(self, result: Plan, now: datetime) -> None:
        """Delete the objects this controller made that the plan no longer holds."""
        wanted = {_key(obj) for obj in result.objects}
        live = {item.name for item in result.lanes}
        where = prune_scopes(result.objects, self.target, self.namespace, self.gateway_namespace)
        removed = {lane: uid for lane, uid in self._seen.items() if lane not in live}
        for api_version, kind, namespace, selector in where:
            try:
                items, _ = self.kube.list(api_version, kind, namespace, selector)
            except KubeError as err:
                if err.status == 404:  # that API is not installed
                    continue
                raise
            for obj in items:
                if _key(obj) in wanted:
                    continue
                self.kube.delete(obj)
                self._applied.pop(_key(obj), None)
                lane = lane_of(obj)
                if lane is not None and lane not in live:
                    owners = obj["metadata"].get("ownerReferences") or [{}]
                    removed.setdefault(lane, str(owners[0].get("uid", "")))
        for lane, uid in removed.items():
            message = "the Lane is gone: its objects are deleted, its routes re-rendered"
            self._record(lane, uid, ("Normal", "Removed", message), now)
        self._seen = {item.name: item.uid for item in result.lanes}

    def _write_statuses(self, result: Plan, now: datetime) -> bool:
        """Write each changed status, then its Events; return whether any write hit a 409."""
        conflict = False
        for item in result.lanes:
            if item.lane.get("status") == item.status:
                continue
            try:
                self.kube.patch_status(item.lane, item.status)
            except KubeError as err:
                if err.status == 409:
                    conflict = True
                    continue
                if err.status == 404:  # deleted meanwhile
                    continue
                raise
            for what in item.events:
                self._record(item.name, item.uid, what, now)
        return conflict

    def _record(self, lane: str, uid: str, what: tuple[str, str, str], now: datetime) -> None:
        """Create one Event; a failure is logged, never fatal."""
        try:
            self.kube.create(lane_event(self.namespace, lane, uid, what, now))
        except (KubeError, OSError) as err:
            logger.warning("cannot record event %s for lane %s: %s", what[1], lane, err)

    def _watch(
        self, api_version: str, kind: str, selector: str | None, stop: threading.Event
    ) -> None:
        """Wake the worker on every change of *kind*; relist after errors and expiries."""
        version = ""
        while not stop.is_set():
            try:
                if not version:
                    _, version = self.kube.list(api_version, kind, self.namespace, selector)
                    self._wake.set()
                for event in self.kube.watch(
                    api_version, kind, self.namespace, version, selector, self.watch_timeout
                ):
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        version = ""  # 410 Gone and friends: list again
                        break
                    version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                    if event.get("type") != "BOOKMARK":
                        self._wake.set()
                    if stop.is_set():
                        return
            except Exception as err:  # the API server may come and go: keep watching
                logger.warning("watch of %s failed, retrying: %s", kind, err)
                version = ""
                stop.wait(1.0)

    def _timeout(self) -> float:
        timeout = self.resync
        if self._next_expiry is not None:
            ahead = (self._next_expiry - self.clock()).total_seconds()
            timeout = min(timeout, max(ahead, 0.0) + 0.5)
        return timeout

    def _sleep(self, stop: threading.Event) -> bool:
        """Wait for a wake-up, the next expiry or resync, or *stop*; return if woken."""
        deadline = time.monotonic() + self._timeout()
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._wake.wait(min(left, 0.5)):
                return True
        return False

    def run(self, stop: threading.Event) -> None:
        """Watch and reconcile until *stop* is set; a failing round is retried with backoff."""
        watches = [
            threading.Thread(target=self._watch, args=(API_VERSION, KIND, None, stop), daemon=True),
            threading.Thread(
                target=self._watch, args=("apps/v1", "Deployment", LANE_LABEL, stop), daemon=True
            ),
        ]
        for thread in watches:
            thread.start()
        backoff = 0.0
        last_resync = time.monotonic()
        self._wake.set()
        while not stop.is_set():
            woke = self._sleep(stop)
            if stop.is_set():
                break
            self._wake.clear()
            if not woke or time.monotonic() - last_resync >= self.resync:
                self._applied.clear()  # re-apply everything now and then: repairs drift
                last_resync = time.monotonic()
            stop.wait(self.settle)
            try:
                self.reconcile()
                backoff = 0.0
            except Exception as err:  # a bad round must never stop the controller
                reason = _reason(err)
                self.metrics.reconcile_errors.labels(reason=reason).inc()
                logger.warning("reconcile failed (%s), retrying: %s", reason, err)
                floor = 0.1 if reason == "conflict" else 0.5
                backoff = min(max(backoff * 2, floor), 30.0)
                self._wake.set()
                stop.wait(backoff)
        for thread in watches:
            thread.join(timeout=2.0)  # daemons: an open watch must not delay the exit
