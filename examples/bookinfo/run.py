#!/usr/bin/env python3
"""Run bookinfo on this machine: four lane-aware services behind a real Envoy.

    python examples/bookinfo/run.py demo
    python examples/bookinfo/run.py up --port 8080 --lane pr-7=reviews,ratings

See README.md beside this file.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# What the four services and the runner import (the `lanectx[bookinfo]` extra).
NEEDED = (
    "lanectx.colouring",
    "yaml",
    "jwt",
    "starlette",
    "uvicorn",
    "waitress",
    "httpx",
    "requests",
    "grpc",
    "grpc_tools",
    "opentelemetry.sdk",
    "opentelemetry.instrumentation.asgi",
    "opentelemetry.instrumentation.wsgi",
    "opentelemetry.instrumentation.httpx",
    "opentelemetry.instrumentation.requests",
    "opentelemetry.instrumentation.grpc",
    "opentelemetry.exporter.otlp.proto.http",
    "opentelemetry.proto",
)


def missing() -> str | None:
    """The first module the example needs that cannot be imported, or None."""
    for name in NEEDED:
        try:
            if find_spec(name) is None:
                return name
        except ImportError:  # its parent package is missing
            return name
    return None


absent = missing()
if absent is not None:
    sys.exit(f"run.py: {absent} is missing: pip install 'lanectx[bookinfo]'")

from runner.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
