"""Prometheus metrics of the controller: lanes by phase, reconcile duration and errors.

metrics = Metrics()                    # its own registry
server = metrics.serve(9090)           # /metrics on 0.0.0.0:9090; server.shutdown()
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ._status import PHASES

__all__ = ["Metrics"]


class Metrics:
    """The controller's metrics, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.lanes = Gauge(
            "lanectx_lanes", "Lane objects by phase.", ["phase"], registry=self.registry
        )
        self.reconcile_seconds = Histogram(
            "lanectx_reconcile_duration_seconds",
            "Time of one reconcile of the namespace.",
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "lanectx_reconcile_errors",
            "Reconciles that failed, by reason (conflict, api, spec, unexpected).",
            ["reason"],
            registry=self.registry,
        )
        for phase in PHASES:
            self.lanes.labels(phase=phase).set(0)

    def count_phases(self, phases: Iterable[str]) -> None:
        """Set the lanes-by-phase gauge from the phase of every Lane."""
        counts = dict.fromkeys(PHASES, 0)
        for phase in phases:
            counts[phase] = counts.get(phase, 0) + 1
        for phase, count in counts.items():
            self.lanes.labels(phase=phase).set(count)

    def serve(self, port: int, address: str = "0.0.0.0") -> WSGIServer:
        """Serve ``/metrics`` on *address*:*port* in a thread; return the server."""
        server, _ = start_http_server(port, address, registry=self.registry)
        return server
