"""Serve reviews with uvicorn on ``PORT`` (default 9080): ``python -m reviews``.

Ratings is reached at ``RATINGS_TARGET`` (default ``ratings:50051``); a local mesh
sets ``RATINGS_AUTHORITY=ratings`` so its proxy can route by name. With
``EVENTS_BROKER_URL`` set, each answer publishes a "review viewed" event (see notifier).
"""

from __future__ import annotations

import os

import uvicorn
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient
from service_base import listen, start_service

from lanectx.asgi import LaneMiddleware
from reviews.app import make_app


def main() -> None:
    """Start lanes and telemetry, then serve until stopped."""
    version = start_service("reviews")
    GrpcAioInstrumentorClient().instrument()
    app = make_app(
        version,
        os.environ.get("RATINGS_TARGET", "ratings:50051"),
        os.environ.get("RATINGS_AUTHORITY"),
        os.environ.get("EVENTS_BROKER_URL"),
    )
    served = OpenTelemetryMiddleware(LaneMiddleware(app), exclude_spans=["receive", "send"])
    uvicorn.Server(uvicorn.Config(served, log_level="warning")).run(sockets=[listen(9080)])


if __name__ == "__main__":
    main()
