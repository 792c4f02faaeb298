"""An app with no lanectx code: OTel's ASGI middleware, an httpx call downstream.

Run as ``opentelemetry-instrument python zero_code_app.py DOWNSTREAM_URL``; prints
``ready PORT`` once serving, stops on SIGINT.
"""

import asyncio
import socket
import sys

import httpx
import uvicorn
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

DOWNSTREAM = sys.argv[1]


async def hop(request):
    async with httpx.AsyncClient() as client:
        seen = (await client.get(DOWNSTREAM)).json()
    return JSONResponse(seen)


app = OpenTelemetryMiddleware(Starlette(routes=[Route("/hop", hop)]))

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)  # connections queue from now on, before the server loop runs
server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
print("ready", sock.getsockname()[1], flush=True)
asyncio.run(server.serve(sockets=[sock]))
