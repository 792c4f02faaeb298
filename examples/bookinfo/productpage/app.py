"""The productpage ASGI app: ``GET /productpage``, ``GET /api/v1/products/{id}``, ``/healthz``.

For example::

    app = make_app("stable", details_url="http://details:9080",
                   reviews_url="http://reviews:9080")

details is called with requests (in a thread, ``asyncio.to_thread`` keeps the
context), reviews with an async httpx client. Neither call names a lane header:
``lanectx.instrument()`` adds them to every outgoing request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

import lanectx
from productpage.page import render_error, render_page

__all__ = ["PRODUCTS", "DownstreamError", "make_app"]

PRODUCTS = {0: {"id": 0, "title": "Shared Staging, Quietly", "summary": "One cluster, many PRs."}}
TIMEOUT = 3.0


class DownstreamError(Exception):
    """A service this page depends on failed; names it."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


def _fetch_details(session: requests.Session, url: str) -> dict[str, Any]:
    try:
        response = session.get(url, timeout=TIMEOUT)
    except requests.RequestException as err:
        raise DownstreamError("details", type(err).__name__) from err
    if response.status_code != 200:
        raise DownstreamError("details", f"HTTP {response.status_code}")
    return dict(response.json())


async def _fetch_reviews(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
    except httpx.HTTPError as err:
        raise DownstreamError("reviews", type(err).__name__) from err
    if response.status_code != 200:
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
        failed = body.get("service", "reviews")
        raise DownstreamError(failed, body.get("error", f"HTTP {response.status_code}"))
    return dict(response.json())


def make_app(version: str, details_url: str, reviews_url: str) -> Starlette:
    """Return the productpage app answering as *version*."""
    clients: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with requests.Session() as session:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                clients.update(details=session, reviews=client)
                yield

    async def product(product_id: int) -> dict[str, Any]:
        if product_id not in PRODUCTS:
            raise KeyError(product_id)
        details, reviews = await asyncio.gather(
            asyncio.to_thread(
                _fetch_details, clients["details"], f"{details_url}/details/{product_id}"
            ),
            _fetch_reviews(clients["reviews"], f"{reviews_url}/reviews/{product_id}"),
        )
        served_by = {"productpage": version, "details": details.pop("served_by")}
        served_by |= reviews["served_by"]
        return {
            **PRODUCTS[product_id],
            "lane": lanectx.current_lane(),
            "details": details,
            "reviews": reviews["reviews"],
            "served_by": served_by,
        }

    def failure(err: DownstreamError) -> dict[str, Any]:
        return {
            "error": f"{err.service} is unavailable ({err.detail})",
            "service": err.service,
            "lane": lanectx.current_lane(),
            "served_by": {"productpage": version},
        }

    async def api(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await product(request.path_params["product_id"]))
        except KeyError:
            return JSONResponse({"error": "no such product"}, status_code=404)
        except DownstreamError as err:
            return JSONResponse(failure(err), status_code=503)

    async def page(request: Request) -> HTMLResponse:
        try:
            return HTMLResponse(render_page(await product(0)))
        except DownstreamError as err:
            return HTMLResponse(render_error(failure(err)), status_code=503)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": version})

    routes = [
        Route("/productpage", page),
        Route("/api/v1/products/{product_id:int}", api),
        Route("/healthz", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
