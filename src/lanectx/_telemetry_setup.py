"""Wire the lane into a configured OpenTelemetry SDK (tracer, logger, resource).

Used by `lanectx.instrument()`; safe without the SDK (it then does nothing).
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from typing import Any

from opentelemetry import _logs, trace

from ._patch import patch
from ._resource import RESOURCE_ATTRIBUTE, resource

__all__ = ["install"]

logger = logging.getLogger("lanectx")
_DETECTORS = "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"
_processors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _add(provider: Any, method: str, make: Callable[[], Any]) -> bool:
    """Add (or re-enable) our processor on an SDK *provider*; False if it is no SDK one."""
    if not hasattr(provider, method):
        return False
    processor = _processors.get(provider)
    if processor is None:
        processor = _processors[provider] = make()
        getattr(provider, method)(processor)
    processor.active = True
    return True


def _disable(provider: Any) -> None:
    processor = _processors.get(provider)
    if processor is not None:
        processor.active = False


def _check_resource(provider: Any) -> None:
    wanted = resource()
    attributes = getattr(getattr(provider, "resource", None), "attributes", {})
    if wanted and RESOURCE_ATTRIBUTE not in attributes:
        logger.info(
            "the tracer provider was created before lanectx.instrument(): add "
            "Resource.create(lanectx.resource()) to it, or set %s=otel,lane",
            _DETECTORS,
        )


def _span_processor() -> Any:
    """A new `lanectx.telemetry.LaneSpanProcessor` (the SDK is imported only when used)."""
    from .telemetry import LaneSpanProcessor as processor

    return processor()


def _log_processor() -> Any:
    """A new `lanectx.telemetry.LaneLogRecordProcessor` (the SDK is imported only when used)."""
    from .telemetry import LaneLogRecordProcessor as processor

    return processor()


def install() -> Callable[[], None]:
    """Add lane processors to the SDK providers, now or when they are set; return the undo."""
    undo: list[Callable[[], None]] = []
    tracer_provider = trace.get_tracer_provider()
    if _add(tracer_provider, "add_span_processor", _span_processor):
        _check_resource(tracer_provider)
    else:
        previous = os.environ.get(_DETECTORS)
        names = [n.strip() for n in (previous or "otel").split(",") if n.strip()]
        if resource() and "lane" not in names:
            os.environ[_DETECTORS] = ",".join([*names, "lane"])

            def restore() -> None:
                if previous is None:
                    os.environ.pop(_DETECTORS, None)
                else:
                    os.environ[_DETECTORS] = previous

            undo.append(restore)
    _add(_logs.get_logger_provider(), "add_log_record_processor", _log_processor)

    def make_setter(original: Any, switch: Any, method: str, make: Any, getter: Any) -> Any:
        def set_provider(provider: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(provider, *args, **kwargs)
            if switch.on:
                _add(getter(), method, make)
            return result

        return set_provider

    undo.append(
        patch(
            trace,
            "set_tracer_provider",
            lambda o, s: make_setter(
                o, s, "add_span_processor", _span_processor, trace.get_tracer_provider
            ),
        )
    )
    undo.append(
        patch(
            _logs,
            "set_logger_provider",
            lambda o, s: make_setter(
                o, s, "add_log_record_processor", _log_processor, _logs.get_logger_provider
            ),
        )
    )

    def undo_all() -> None:
        for step in reversed(undo):
            step()
        _disable(trace.get_tracer_provider())
        _disable(_logs.get_logger_provider())

    return undo_all
