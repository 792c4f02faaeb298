"""Real FastAPI, Flask and Django edge apps, each stacked with lanectx and/or OTel middleware.

Every app answers ``GET /edge`` with its current lane and, for each client it calls
downstream (HTTP to a capture server, one RPC to a gRPC probe), the lane headers
that call carried. Nothing in them forwards a header by hand.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

import grpc
import grpc.aio
import httpx
import requests
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as OtelASGI
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as OtelWSGI
from opentelemetry.sdk.trace import TracerProvider

import lanectx
from lanectx import LaneConfig, asgi, wsgi

from .protos.probe import protos, services, values

STACKS = ("lanectx", "otel", "lanectx-outside-otel", "otel-outside-lanectx")
Report = dict[str, Any]


def _http_seen(record: dict[str, Any]) -> dict[str, list[str]]:
    pairs = record["all"]
    return {name: [v for k, v in pairs if k == name] for name in ("x-lane-id", "baggage")}


def _grpc_seen(reply: Any) -> dict[str, list[str]]:
    return {name: values(reply.metadata, name) for name in ("x-lane-id", "baggage")}


def _sync_report(capture_url: str, probe: str) -> Report:
    """What a WSGI handler sees and sends: requests, sync httpx and a sync gRPC call."""
    seen: Report = {"lane": lanectx.current_lane()}
    seen["requests"] = _http_seen(requests.get(f"{capture_url}/r", timeout=10).json())
    with httpx.Client() as client:
        seen["httpx"] = _http_seen(client.get(f"{capture_url}/h", timeout=10).json())
    with grpc.insecure_channel(probe) as channel:
        reply = services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)
    seen["grpc"] = _grpc_seen(reply)
    return seen


async def _async_report(capture_url: str, probe: str) -> Report:
    """What an ASGI handler sees and sends: async httpx and a grpc.aio call."""
    seen: Report = {"lane": lanectx.current_lane()}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{capture_url}/a", timeout=10)
    seen["httpx"] = _http_seen(response.json())
    async with grpc.aio.insecure_channel(probe) as channel:
        reply = await services.ProbeStub(channel).Unary(protos.Ask(), timeout=10)
    seen["grpc"] = _grpc_seen(reply)
    return seen


def fastapi_app(capture_url: str, probe: str) -> Any:
    """A FastAPI edge."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/edge")
    async def edge() -> Report:
        return await _async_report(capture_url, probe)

    return app


def flask_app(capture_url: str, probe: str) -> Any:
    """A Flask edge."""
    from flask import Flask, jsonify

    app = Flask("lanectx_edge")

    @app.get("/edge")
    def edge() -> Any:
        return jsonify(_sync_report(capture_url, probe))

    return app


def django_app(capture_url: str, probe: str) -> Callable[..., Iterable[bytes]]:
    """A Django edge (its WSGI handler), in the Django test project of `frameworks`."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import JsonResponse
    from django.urls import path

    from .frameworks import _django

    _django()
    urls = types.ModuleType(f"lanectx_test_edge_urls_{id(capture_url)}")
    sys.modules[urls.__name__] = urls

    def edge(request: Any) -> JsonResponse:
        return JsonResponse(_sync_report(capture_url, probe))

    urls.urlpatterns = [path("edge", edge)]  # type: ignore[attr-defined]

    class EdgeHandler(WSGIHandler):  # type: ignore[misc]
        def get_response(self, request: Any) -> Any:
            request.urlconf = urls.__name__  # this app's URLs, whatever the project's are
            return super().get_response(request)

    return EdgeHandler()


FRAMEWORKS: dict[str, tuple[Callable[[str, str], Any], bool]] = {
    "fastapi": (fastapi_app, True),
    "flask": (flask_app, False),
    "django": (django_app, False),
}


def stacked(
    app: Any, is_asgi: bool, stack: str, config: LaneConfig, provider: TracerProvider
) -> Any:
    """*app* wrapped as *stack* says: lanectx's middleware, OTel's, or both in an order."""
    lane = asgi.LaneMiddleware if is_asgi else wsgi.LaneMiddleware
    otel = OtelASGI if is_asgi else OtelWSGI
    if stack == "lanectx":
        return lane(app, config)
    if stack == "otel":
        return otel(app, tracer_provider=provider)
    if stack == "lanectx-outside-otel":
        return lane(otel(app, tracer_provider=provider), config)
    return otel(lane(app, config), tracer_provider=provider)
