"""OpenTelemetry SDK pieces: lane on spans, logs and the resource (needs ``lanectx[sdk]``).

``lanectx.instrument()`` adds the processors to configured SDK providers. For an
explicit setup::

    provider = TracerProvider(resource=Resource.create(lanectx.resource()))
    provider.add_span_processor(LaneSpanProcessor())
    logger_provider.add_log_record_processor(LaneLogRecordProcessor())
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import Span, SpanProcessor
from opentelemetry.trace import SpanKind

from ._config import LaneConfig, active_config
from ._context import current_lane
from ._detector import LaneResourceDetector
from .lanemap._calls import route_attributes, route_of, want_route_context

__all__ = ["LaneLogRecordProcessor", "LaneResourceDetector", "LaneSpanProcessor"]


class LaneSpanProcessor(SpanProcessor):
    """Set the lane attribute (``lane.id``) on every span started while a lane is current.

    The client span of a call routed from the lane map (client routing mode) also
    gets ``lane.route.version`` (the lane, or ``stable``) and ``lane.route.reason``.
    """

    def __init__(self, config: LaneConfig | None = None) -> None:
        self._config = config
        self.active = True
        want_route_context()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Copy the lane of *parent_context* (or the current context) onto *span*."""
        if not self.active:
            return
        config = self._config or active_config()
        lane = current_lane(parent_context, config)
        if lane is not None:
            span.set_attribute(config.span_attribute, lane)
        if span.kind is SpanKind.CLIENT and (route := route_of(parent_context)) is not None:
            span.set_attributes(route_attributes(route))


class LaneLogRecordProcessor(LogRecordProcessor):
    """Set the lane attribute (``lane.id``) on every log record emitted while a lane is current."""

    def __init__(self, config: LaneConfig | None = None) -> None:
        self._config = config
        self.active = True

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Copy the record's (or the current) lane onto the record's attributes."""
        if not self.active:
            return
        config = self._config or active_config()
        lane = current_lane(getattr(log_record.log_record, "context", None), config)
        attributes = log_record.log_record.attributes
        if lane is not None and attributes is not None:
            attributes[config.span_attribute] = lane  # type: ignore[index]

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing buffered."""
        return True
