"""Resource detector ``lane`` (entry point), kept apart so the SDK can load it early.

OTEL_EXPERIMENTAL_RESOURCE_DETECTORS=otel,lane LANE_ID=pr-7 opentelemetry-instrument ...
"""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource, ResourceDetector

from ._resource import resource

__all__ = ["LaneResourceDetector"]


class LaneResourceDetector(ResourceDetector):
    """Resource detector ``lane``: ``service.lane`` from ``LANE_ID`` / ``PR_ID``.

    Enable it with ``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS=otel,lane``.
    """

    def detect(self) -> Resource:
        """Return the process's lane as a resource (empty when stable)."""
        return Resource(resource())
