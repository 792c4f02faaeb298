"""Serve productpage with uvicorn on ``PORT`` (default 9080): ``python -m productpage``.

Downstream services: ``DETAILS_URL`` (default ``http://details:9080``) and
``REVIEWS_URL`` (default ``http://reviews:9080``).
"""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from service_base import listen, start_service

from lanectx.asgi import LaneMiddleware
from lanectx.colouring import ColouringMiddleware
from productpage.app import make_app


def main() -> None:
    """Start lanes and telemetry, then serve until stopped."""
    version = start_service("productpage")
    HTTPXClientInstrumentor().instrument()
    RequestsInstrumentor().instrument()
    app = make_app(
        version,
        details_url=os.environ.get("DETAILS_URL", "http://details:9080"),
        reviews_url=os.environ.get("REVIEWS_URL", "http://reviews:9080"),
    )
    # The edge colours requests that arrive without a lane (rules in colouring.yaml).
    app = ColouringMiddleware(app, Path(__file__).with_name("colouring.yaml"), edge=True)
    served = OpenTelemetryMiddleware(LaneMiddleware(app), exclude_spans=["receive", "send"])
    uvicorn.Server(uvicorn.Config(served, log_level="warning")).run(sockets=[listen(9080)])


if __name__ == "__main__":
    main()
