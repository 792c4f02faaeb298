"""The reviews ASGI app: ``GET /reviews/{id}`` (with stars from ratings) and ``GET /healthz``.

For example::

    app = make_app("pr-31", ratings_target="ratings:50051")

Ratings is called with a plain grpc.aio stub: the lane reaches it because
``lanectx.instrument()`` ran before the channel was made. With *events_broker* set,
each answer also publishes a "review viewed" event for the notifier worker (Celery);
the event carries the request's lane with no code here either.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import grpc.aio
from ratings import protos, services
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["REVIEWS", "make_app"]

REVIEWS: dict[int, list[dict[str, str]]] = {
    0: [
        {"reviewer": "Noor", "text": "Finally, a book that explains why staging is always red."},
        {"reviewer": "Tomasz", "text": "Useful, though the chapter on YAML made me weep."},
    ],
}
RATINGS_TIMEOUT = 2.0
logger = logging.getLogger("reviews")


def _publisher(broker_url: str | None) -> object | None:
    if not broker_url:
        return None
    from celery import Celery

    return Celery("reviews-events", broker=broker_url, set_as_current=False)


async def _review_viewed(events: object | None, product_id: int) -> None:
    if events is None:
        return
    try:  # asyncio.to_thread keeps the request's context, so the event keeps its lane
        await asyncio.to_thread(
            events.send_task,  # type: ignore[attr-defined]
            "review_viewed",
            (secrets.token_hex(6), product_id),
            queue="notifier",
            retry=False,
        )
    except Exception as err:  # an event lost is logged, the page is still served
        logger.warning("review viewed event not published: %s", err)


def make_app(
    version: str,
    ratings_target: str,
    ratings_authority: str | None = None,
    events_broker: str | None = None,
) -> Starlette:
    """Return the reviews app answering as *version*, calling ratings at *ratings_target*."""
    options = [("grpc.default_authority", ratings_authority)] if ratings_authority else []
    stubs: dict[str, object] = {}
    events = _publisher(events_broker)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        channel = grpc.aio.insecure_channel(ratings_target, options=options)
        stubs["ratings"] = services.RatingsStub(channel)
        yield
        await channel.close()

    async def reviews(request: Request) -> JSONResponse:
        product_id = int(request.path_params["product_id"])
        texts = REVIEWS.get(product_id)
        if texts is None:
            return JSONResponse({"error": f"no reviews for {product_id}"}, status_code=404)
        try:
            reply = await stubs["ratings"].GetRatings(  # type: ignore[attr-defined]
                protos.RatingsRequest(product_id=product_id), timeout=RATINGS_TIMEOUT
            )
        except grpc.aio.AioRpcError as err:
            detail = f"ratings failed: {err.code().name} {err.details()}"
            return JSONResponse(
                {"error": detail, "service": "ratings", "served_by": {"reviews": version}},
                status_code=503,
            )
        items = [{**item, "stars": reply.stars.get(item["reviewer"], 0)} for item in texts]
        served_by = {"reviews": version, "ratings": reply.served_by}
        await _review_viewed(events, product_id)
        return JSONResponse({"id": product_id, "reviews": items, "served_by": served_by})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": version})

    routes = [Route("/reviews/{product_id:int}", reviews), Route("/healthz", health)]
    return Starlette(routes=routes, lifespan=lifespan)
