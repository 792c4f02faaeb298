"""OpenTelemetry SDK pieces: lane on spans, logs and the resource (needs ``lanectx[sdk]``).

``lanectx.instrument()`` adds the processors to configured SDK providers. For an
explicit setup::

    provider = TracerProvider(resource=Resource.create(lanectx.resource()))
    provider.add_span_processor(LaneSpanProcessor())
    logger_provider.add_log_record_processor(LaneLogRecordProcessor())

Server and message-consume spans are hops: they also get ``lane.hop`` (hit, fallback
or none) and are counted, when they end, in the counter ``lanectx.hops`` labelled
``service`` and ``outcome`` (see docs/report.md). The processor keeps the totals
itself and the meter reads them when it collects (an observable counter): an SDK
``Counter.add`` costs about 4 µs, more than the rest of a hop's marking.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind

from ._config import LaneConfig, active_config
from ._context import current_lane
from ._detector import LaneResourceDetector
from ._hop import (
    FALLBACK,
    HIT,
    HOP_ATTRIBUTE,
    NONE,
    hop_outcome,
    marked_elsewhere,
    own_lane,
    set_hop,
)
from ._version import __version__
from .lanemap._calls import route_attributes, route_of, want_route_context

__all__ = ["HOP_METRIC", "LaneLogRecordProcessor", "LaneResourceDetector", "LaneSpanProcessor"]

HOP_METRIC = "lanectx.hops"
_OUTCOMES = frozenset((HIT, FALLBACK, NONE))
MAX_HOP_SERIES = 2048
"""Totals kept per (service, outcome, lane); past this many, new lanes count without a lane."""


class LaneSpanProcessor(SpanProcessor):
    """Set the lane attribute (``lane.id``) on every span started while a lane is current.

    The client span of a call routed from the lane map (client routing mode) also
    gets ``lane.route.version`` (the lane, or ``stable``) and ``lane.route.reason``.

    Server and consume spans also get the hop outcome (``lane.hop``); every span
    that carries one when it ends is counted in ``lanectx.hops`` of *meter_provider*
    (default: the global one).
    """

    def __init__(
        self, config: LaneConfig | None = None, meter_provider: metrics.MeterProvider | None = None
    ) -> None:
        self._config = config
        self.active = True
        self._meter_provider = meter_provider
        self._hops: _HopTotals | None = None
        self._resource: object = None
        self._service: object = "unknown"
        want_route_context()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Copy the lane of *parent_context* (or the current context) onto *span*."""
        if not self.active:
            return
        config = self._config or active_config()
        lane = current_lane(parent_context, config)
        kind = span.kind
        if kind is SpanKind.SERVER or kind is SpanKind.CONSUMER:  # HOP_KINDS, unhashed
            set_hop(span, config.span_attribute, lane, hop_outcome(lane, own_lane()))
        elif lane is not None:
            span.set_attribute(config.span_attribute, lane)
        if kind is SpanKind.CLIENT and (route := route_of(parent_context)) is not None:
            span.set_attributes(route_attributes(route))

    def on_end(self, span: ReadableSpan) -> None:
        """Count a hop (a span with ``lane.hop``) by service and outcome."""
        kind = span.kind
        if kind is not SpanKind.SERVER and kind is not SpanKind.CONSUMER and not marked_elsewhere():
            return  # not a hop: only spans of HOP_KINDS are marked
        attributes = span.attributes
        if attributes is None or not self.active:
            return
        outcome = attributes.get(HOP_ATTRIBUTE)
        if outcome not in _OUTCOMES:
            return
        config = self._config or active_config()
        lane = attributes.get(config.span_attribute) if config.hop_metric_lane else None
        resource = span.resource
        if resource is not self._resource:  # one provider, one resource: read its name once
            self._service = resource.attributes.get("service.name", "unknown")
            self._resource = resource
        service = self._service
        hops = self._hops
        if hops is None:
            hops = self._hops = _HopTotals.of(self._meter_provider)
        hops.count((service, outcome, lane))


class _HopTotals:
    """The hop totals of one meter provider, read by its observable counter when it collects.

    One per provider (every processor that records into it shares them): a second
    observable counter of the same name would be ignored by the SDK.
    """

    _global: _HopTotals | None = None
    _by_provider: weakref.WeakKeyDictionary[metrics.MeterProvider, _HopTotals]
    _by_provider = weakref.WeakKeyDictionary()
    _made = threading.Lock()

    def __init__(self, provider: metrics.MeterProvider | None) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[object, object, object], int] = {}
        meter = metrics.get_meter("lanectx", __version__, provider)
        meter.create_observable_counter(
            HOP_METRIC,
            callbacks=[self._observe],
            unit="{hop}",
            description="Server and consume hops by outcome",
        )

    @classmethod
    def of(cls, provider: metrics.MeterProvider | None) -> _HopTotals:
        """The totals of *provider* (None: the global one), made on first use."""
        with cls._made:
            found = cls._global if provider is None else cls._by_provider.get(provider)
            if found is None:
                found = cls(provider)
                if provider is None:
                    cls._global = found
                else:
                    cls._by_provider[provider] = found
            return found

    def count(self, key: tuple[object, object, object]) -> None:
        """Count one hop of (service, outcome, lane)."""
        totals = self._totals
        with self._lock:
            if key not in totals and len(totals) >= MAX_HOP_SERIES:
                key = (key[0], key[1], None)  # bounded: the hop counts, its lane label not
            totals[key] = totals.get(key, 0) + 1

    def _observe(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        with self._lock:
            totals = list(self._totals.items())
        for (service, outcome, lane), count in totals:
            labels = {"service": str(service), "outcome": str(outcome)}
            if lane is not None:
                labels["lane"] = str(lane)
            yield metrics.Observation(count, labels)


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
