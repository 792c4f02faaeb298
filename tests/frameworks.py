"""Test apps with no lanectx code in them, one per framework, and a runner for each.

Every app answers ``GET /lane`` with ``{"lane": <current lane>}`` and streams
``GET /stream`` as three chunks ``<lane>;``, each read while the body is sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from aiohttp import web

import lanectx

from .servers import _listening_socket, run_uvicorn, run_wsgi

Serve = Callable[[], AbstractContextManager[str]]


def _lane() -> str:
    return lanectx.current_lane() or "-"


def starlette_app(middleware: Any = ()) -> Any:
    """A Starlette app with the two routes."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def lane(request: Any) -> JSONResponse:
        return JSONResponse({"lane": lanectx.current_lane()})

    async def stream(request: Any) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(0)
                yield f"{_lane()};".encode()

        return StreamingResponse(body())

    return Starlette(routes=[Route("/lane", lane), Route("/stream", stream)], middleware=middleware)


def fastapi_app() -> Any:
    """A FastAPI app with the two routes."""
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    app = FastAPI()

    @app.get("/lane")
    async def lane() -> dict[str, str | None]:
        return {"lane": lanectx.current_lane()}

    @app.get("/stream")
    def stream() -> StreamingResponse:
        def body() -> Iterator[bytes]:
            for _ in range(3):
                yield f"{_lane()};".encode()

        return StreamingResponse(body())

    return app


def flask_app() -> Any:
    """A Flask app with the two routes."""
    from flask import Flask, Response

    app = Flask("lanes")

    @app.get("/lane")
    def lane() -> dict[str, str | None]:
        return {"lane": lanectx.current_lane()}

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterator[str]:
            for _ in range(3):
                yield f"{_lane()};"

        return Response(body())

    return app


def aiohttp_app(middlewares: Any = ()) -> web.Application:
    """An aiohttp app with the two routes (``web.Application`` looked up when called)."""

    async def lane(request: web.Request) -> web.Response:
        return web.json_response({"lane": lanectx.current_lane()})

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(3):
            await response.write(f"{_lane()};".encode())
        await response.write_eof()
        return response

    app = web.Application(middlewares=list(middlewares))
    app.add_routes([web.get("/lane", lane), web.get("/stream", stream)])
    return app


@contextmanager
def run_aiohttp(app: web.Application) -> Iterator[str]:
    """Serve an aiohttp *app* on 127.0.0.1 in its own thread and loop; yield its base URL."""
    sock = _listening_socket()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()
    failed: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
        except BaseException as err:
            failed.append(err)
            started.set()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    if failed:
        raise failed[0]
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        sock.close()


def _django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="lanectx-tests",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="tests.django_urls",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()


def django_wsgi() -> Any:
    """Django's WSGI handler for the test project."""
    _django()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def django_asgi() -> Any:
    """Django's ASGI handler for the test project."""
    _django()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


SERVERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "starlette": lambda: run_uvicorn(starlette_app()),
    "fastapi": lambda: run_uvicorn(fastapi_app()),
    "flask": lambda: run_wsgi(flask_app()),
    "django-wsgi": lambda: run_wsgi(django_wsgi()),
    "django-asgi": lambda: run_uvicorn(django_asgi()),
    "aiohttp": lambda: run_aiohttp(aiohttp_app()),
}
