"""Exceptions of the routing renderer and the local Envoy translation.

Each message is one line, ready to print as a CLI error::

    try:
        spec = load_spec("lanes.yaml")
    except SpecError as err:
        print(f"lanectx: {err}")
"""

from __future__ import annotations

from lanectx.exceptions import LaneError

__all__ = ["SpecError", "UnsupportedRouteError"]


class SpecError(LaneError, ValueError):
    """A lanes spec (or a CLI argument standing for one) is invalid; the message is one line."""


class UnsupportedRouteError(LaneError, ValueError):
    """A routing object uses a feature the local Envoy translation does not implement."""
