"""One outgoing call in client routing mode: its route, and a context that carries it.

found = routed(config, "reviews", 9080)    # None: not a routed call
if found is not None:
    route, ctx = found                     # dial route.host:route.port inside ctx

The context holds the route so the client span started for the call can say where
it went (`route_attributes`); it is made only once a `LaneSpanProcessor` exists
(None before: nothing would read it). The Host header / ``:authority`` stays the
one addressed: the lane version is asked exactly what the stable one would be.
"""

from __future__ import annotations

from opentelemetry import context
from opentelemetry.context import Context

from .._config import LaneConfig
from .._context import current_lane
from ._route import Route, route_call

__all__ = [
    "ATTRIBUTE_REASON",
    "ATTRIBUTE_VERSION",
    "route_attributes",
    "route_of",
    "routed",
    "want_route_context",
    "with_route",
]

ATTRIBUTE_VERSION = "lane.route.version"  # the lane whose version served the call, or stable
ATTRIBUTE_REASON = "lane.route.reason"  # lane-version, no-lane or lane-not-deployed
_ROUTE = context.create_key("lanectx-route")
_wanted = False


def want_route_context() -> None:
    """Carry each call's route in its context from now on (a span processor reads it)."""
    global _wanted
    _wanted = True


def routed(
    config: LaneConfig, host: str | None, port: int | None
) -> tuple[Route, Context | None] | None:
    """Return (route, context to send in or None) for a call to *host*:*port*.

    None when there is nothing to do: the call is not routed, or goes where it was
    addressed and no span processor wants its route. Callers check
    ``config.routing == "client"`` first, so mesh mode pays nothing.
    """
    route = route_call(config, host, port, current_lane(None, config))
    if route is None:
        return None
    if _wanted:
        return route, context.set_value(_ROUTE, route)
    return (route, None) if route.rerouted(host or "", port) else None


def with_route(route: Route, ctx: Context | None = None) -> Context:
    """Return *ctx* (default: the current context) carrying *route* for the call's span."""
    return context.set_value(_ROUTE, route, ctx)


def route_of(ctx: Context | None = None) -> Route | None:
    """Return the route of the call being sent in *ctx* (default: the current context)."""
    value = context.get_value(_ROUTE, ctx)
    return value if isinstance(value, Route) else None


def route_attributes(route: Route) -> dict[str, str]:
    """Return the span attributes saying where a routed call went and why."""
    return {ATTRIBUTE_VERSION: route.version, ATTRIBUTE_REASON: route.reason}
