"""Serve details with waitress on ``PORT`` (default 9080): ``python -m details``."""

from __future__ import annotations

from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from service_base import listen, start_service
from waitress import serve

from details.app import make_app
from lanectx.wsgi import LaneMiddleware


def main() -> None:
    """Start lanes and telemetry, then serve until stopped."""
    version = start_service("details")
    app = OpenTelemetryMiddleware(LaneMiddleware(make_app(version)))
    serve(app, sockets=[listen(9080)])


if __name__ == "__main__":
    main()
