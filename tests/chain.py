"""The test chain: client → A (ASGI, async httpx) → B (WSGI, requests) → capture."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import lanectx
from lanectx._baggage import member_values


def service_a(b_url: str, client: httpx.AsyncClient) -> Starlette:
    """Service A reports its lane and calls B; it holds no header-forwarding code."""

    async def endpoint(request: Request) -> JSONResponse:
        lane = lanectx.current_lane()
        response = await client.get(f"{b_url}/b")
        return JSONResponse({"lane": lane, "b": response.json()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(routes=[Route("/a", endpoint)], lifespan=lifespan)


def service_b(capture_url: str) -> Callable[..., Iterable[bytes]]:
    """Service B (WSGI) reports its lane and calls the capture server with requests."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        lane = lanectx.current_lane()
        seen = requests.get(f"{capture_url}/c", timeout=10).json()
        body = json.dumps({"lane": lane, "capture": seen}).encode()
        start_response("200 OK", [("content-type", "application/json")])
        return [body]

    return app


def lane_members(headers: dict[str, str], key: str = "lane") -> list[str]:
    """The values of every *key* member in a captured baggage header."""
    baggage = headers.get("baggage")
    return list(member_values([baggage], key)) if baggage else []
