"""What every server integration does with the lane it read from a request."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context, get_current

from ._config import LaneConfig
from ._context import context_with_lane

__all__ = ["request_context"]


def request_context(config: LaneConfig, lane: str | None) -> Context | None:
    """Return the context to run the request in, or None to keep the current one.

    When an OTel server span is already current (our middleware sits inside
    OTel's), the lane is also put on that span, so it is right in either order.
    """
    current = get_current()
    ctx = context_with_lane(current, config, lane)
    if ctx is current:
        return None
    if lane is not None:
        span = trace.get_current_span(current)
        if span.is_recording():
            span.set_attribute(config.span_attribute, lane)
    return ctx
