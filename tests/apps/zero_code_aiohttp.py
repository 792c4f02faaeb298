"""An aiohttp app with no lanectx code and no wrapper; it calls downstream three ways.

Run as ``opentelemetry-instrument python zero_code_aiohttp.py DOWNSTREAM_URL``; prints
``ready PORT`` once serving, stops on SIGINT. ``/hop`` answers what the downstream saw
from an aiohttp call, and from urllib3 and urllib.request calls made in a new thread.
"""

import asyncio
import contextlib
import json
import socket
import sys
import threading
import urllib.request

import aiohttp
import urllib3
from aiohttp import web
from opentelemetry import baggage

DOWNSTREAM = sys.argv[1]


def in_thread(seen):
    seen["urllib3"] = urllib3.request("GET", DOWNSTREAM).json()
    with urllib.request.urlopen(DOWNSTREAM, timeout=10) as response:
        seen["urllib"] = json.loads(response.read())


async def hop(request):
    seen = {"lane": baggage.get_baggage("lane")}
    async with aiohttp.ClientSession() as session, session.get(DOWNSTREAM) as response:
        seen["aiohttp"] = await response.json()
    thread = threading.Thread(target=in_thread, args=(seen,))
    thread.start()
    await asyncio.to_thread(thread.join, 10)
    return web.json_response(seen)


async def main():
    app = web.Application()
    app.add_routes([web.get("/hop", hop)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    await web.SockSite(runner, sock).start()
    print("ready", sock.getsockname()[1], flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


with contextlib.suppress(KeyboardInterrupt):
    asyncio.run(main())
