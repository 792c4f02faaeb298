"""URLs of the Django test project (see tests/frameworks.py): /lane, /stream, /astream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path

import lanectx


def lane(request: Any) -> JsonResponse:
    """Answer the current lane."""
    return JsonResponse({"lane": lanectx.current_lane()})


def stream(request: Any) -> StreamingHttpResponse:
    """Stream the current lane three times; async chunks under ASGI, sync under WSGI."""
    if "wsgi.input" in request.META:

        def body() -> Iterator[str]:
            for _ in range(3):
                yield f"{lanectx.current_lane() or '-'};"

        return StreamingHttpResponse(body())

    async def abody() -> AsyncIterator[str]:
        for _ in range(3):
            await asyncio.sleep(0)
            yield f"{lanectx.current_lane() or '-'};"

    return StreamingHttpResponse(abody())


urlpatterns = [path("lane", lane), path("stream", stream)]
