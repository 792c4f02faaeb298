"""Serve ratings over gRPC (asyncio) on ``PORT`` (default 50051): ``python -m ratings``."""

from __future__ import annotations

import asyncio
import os
import signal

import grpc.aio
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer
from service_base import announce, start_service

from ratings import services
from ratings.server import RatingsServicer


async def serve() -> None:
    """Start lanes and telemetry, then serve until SIGTERM or SIGINT."""
    version = start_service("ratings")
    GrpcAioInstrumentorServer().instrument()
    server = grpc.aio.server()  # lanectx.instrument() added its interceptor
    services.add_RatingsServicer_to_server(RatingsServicer(version), server)
    address = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '50051')}"
    announce(server.add_insecure_port(address))  # PORT=0: the port gRPC chose
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


if __name__ == "__main__":
    asyncio.run(serve())
