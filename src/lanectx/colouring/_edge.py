"""Whether this service is the edge (the only place that colours), and colouring telemetry.

``LANECTX_EDGE=true`` marks the edge service; anything else (unset, ``false``) means
an inner service, where the colouring middleware passes requests through untouched::

    edge = edge_from_env()   # False unless LANECTX_EDGE is true
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opentelemetry import metrics, trace

from ..exceptions import ConfigurationError
from ._rules import Rule, Rules, load_rules

__all__ = ["RULE_ATTRIBUTE", "ColouringTelemetry", "edge_from_env", "rules_from"]

RULE_ATTRIBUTE = "lane.rule"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def edge_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Return the ``LANECTX_EDGE`` setting (default False: an inner service)."""
    raw = (os.environ if environ is None else environ).get("LANECTX_EDGE", "")
    flag = raw.strip().lower()
    if flag not in _TRUE | _FALSE:
        raise ConfigurationError(f"LANECTX_EDGE={raw!r}: expected true or false")
    return flag in _TRUE


def rules_from(rules: Rules | str | Path | None, edge: bool) -> Rules:
    """Return *rules*, loading a path; None: ``LANECTX_COLOURING_RULES`` (needed at the edge)."""
    if isinstance(rules, Rules):
        return rules
    if rules is None:
        rules = os.environ.get("LANECTX_COLOURING_RULES") or None
        if rules is None:
            if edge:
                raise ConfigurationError(
                    "edge colouring needs rules: pass rules= or set LANECTX_COLOURING_RULES"
                )
            return Rules()
    return load_rules(rules)


class ColouringTelemetry:
    """Record which rule coloured a request: span attribute and a request counter."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter("lanectx", meter_provider=meter_provider)
        self._counter = meter.create_counter(
            "lanectx.colouring.requests",
            unit="{request}",
            description="Requests given a lane by a colouring rule, by rule",
        )

    def record(self, rule: Rule) -> None:
        """Note that *rule* coloured the current request."""
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute(RULE_ATTRIBUTE, rule.name)
        self._counter.add(1, {"rule": rule.name, "lane": rule.lane})
