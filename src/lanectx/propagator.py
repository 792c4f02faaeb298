"""`LanePropagator`: lifts the raw lane headers into baggage, and sends the raw header.

Put it last in the propagator list, after ``baggage``::

    OTEL_PROPAGATORS=tracecontext,baggage,lane

or let ``lanectx.instrument()`` add it to the global propagator.
"""

from __future__ import annotations

from opentelemetry.context import Context, get_current
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)

from ._config import LaneConfig, active_config
from ._context import context_with_lane, current_lane
from ._lane import lane_from_carrier
from ._trust import carrier_peer

__all__ = ["LanePropagator"]


class LanePropagator(TextMapPropagator):
    """Extract the lane from ``x-lane-id`` / ``x-pr-id`` / ``baggage``; inject ``x-lane-id``.

    Extraction follows the contract's precedence and sets the baggage entry; an
    invalid lane (also one that came in as a baggage member) is removed, so it is
    never forwarded. With trust settings, the caller's address is checked when the
    carrier holds one (an ASGI scope, a WSGI environ), else only the trust header.
    Without *config* the active config is used (see
    `lanectx.instrument`, `LaneConfig.from_env`).
    """

    def __init__(self, config: LaneConfig | None = None) -> None:
        self._config = config

    @property
    def config(self) -> LaneConfig:
        """The config this propagator follows."""
        return self._config or active_config()

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        """Return *context* with the carrier's lane (or without an invalid one)."""
        if context is None:
            context = get_current()
        config = self.config
        if not config.enabled:
            return context
        if not config.trust_all:
            header = config.trust_header
            sent = getter.get(carrier, header) if header else None
            if not config.caller_trusted(carrier_peer(carrier), sent):
                return context_with_lane(context, config, None, trusted=False)
        lane = lane_from_carrier(config, carrier, lambda name: getter.get(carrier, name))
        return context_with_lane(context, config, lane)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        """Set the outbound lane header when *context* has a lane."""
        config = self.config
        if not config.enabled or config.outbound_header is None:
            return
        lane = current_lane(context, config)
        if lane is not None:
            setter.set(carrier, config.outbound_header, lane)

    @property
    def fields(self) -> set[str]:
        """The header this propagator sets."""
        header = self.config.outbound_header
        return {header} if header else set()
