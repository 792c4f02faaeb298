"""The ratings servicer: stars per reviewer, and the version that answered.

For example::

    server = grpc.aio.server()
    services.add_RatingsServicer_to_server(RatingsServicer("stable"), server)
"""

from __future__ import annotations

import grpc
import grpc.aio

from ratings import protos, services

__all__ = ["STARS", "RatingsServicer"]

STARS: dict[int, dict[str, int]] = {0: {"Noor": 5, "Tomasz": 3}}
# A lane version rates differently, so the page shows which version answered.
LANE_STARS: dict[int, dict[str, int]] = {0: {"Noor": 4, "Tomasz": 4}}


class RatingsServicer(services.RatingsServicer):  # type: ignore[misc,name-defined]
    """Answer `GetRatings` from the table of this *version*."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.table = STARS if version == "stable" else LANE_STARS

    async def GetRatings(self, request: object, context: grpc.aio.ServicerContext) -> object:
        """Return the stars of the requested product, or NOT_FOUND."""
        product_id = getattr(request, "product_id", -1)
        stars = self.table.get(product_id)
        if stars is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no ratings for {product_id}")
        return protos.RatingsReply(product_id=product_id, stars=stars, served_by=self.version)
