"""Moved to `lanectx.localmesh` (the local model of istiod); these names remain here.

from lanectx.localmesh import EnvoyProcess, envoy_config
"""

from __future__ import annotations

from lanectx.localmesh import (
    ROUTE_HEADER,
    EnvoyProcess,
    UnsupportedRouteError,
    envoy_config,
    find_envoy,
    parse_endpoint,
)

__all__ = [
    "ROUTE_HEADER",
    "EnvoyProcess",
    "UnsupportedRouteError",
    "envoy_config",
    "find_envoy",
    "parse_endpoint",
]
