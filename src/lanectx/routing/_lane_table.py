"""Lane routing by table lookup (``laneRouting: table``): one route, one Lua table per port.

With one mesh route per lane and header source, a request for the last of N lanes is
tested against every route before it: its cost grows with N (about 10x at 1000 lanes
when the lane comes in baggage, see docs/benchmarks.md). The table design keeps the
VirtualService to two routes (the stable fast path, then ``<service>-lanes``) and has an
EnvoyFilter give ``<service>-lanes`` a Lua cluster specifier that finds the lane's
cluster in a Lua table: one lookup per header source, whatever the number of lanes.

The lookup keeps the semantics of the route list: the lane header is tried first, then
the PR header, then each ``baggage`` member named by the baggage key; the first value
that names a lane with a version of the service wins. Anything else goes to stable, or
to the canary with the canary's weight. Without the EnvoyFilter the route still sends
every request to stable (or the split), so a missing filter never sends traffic to a
lane. Cluster names follow Istio's ``outbound|<port>|<subset>|<host>``::

    envoy_filter(spec, spec.service("reviews"))
"""

from __future__ import annotations

from typing import Any

from ._istio import host_name, table_route_name
from ._model import CANARY, STABLE, LanesSpec, Service
from ._workloads import metadata

__all__ = ["LUA_SPECIFIER", "cluster_name", "envoy_filter", "lane_table_lua", "table_route_name"]

LUA_SPECIFIER = "envoy.router.cluster_specifier_plugin.lua"
_LUA_CONFIG = "type.googleapis.com/envoy.extensions.router.cluster_specifiers.lua.v3.LuaConfig"

_LOOKUP = r"""
local function default_cluster()
  if CANARY ~= nil and math.random(100) <= CANARY_WEIGHT then
    return CANARY
  end
  return STABLE
end

-- Each member named BAGGAGE_KEY, in order: the value runs to the next ";" or ",", less
-- trailing whitespace. Envoy joins repeated baggage headers with ",".
local MEMBER = ",[ \t]*" .. BAGGAGE_KEY_PATTERN .. "[ \t]*=[ \t]*([^,;]-)[ \t]*%f[,;]"

function envoy_on_route(route_handle)
  local headers = route_handle:headers()
  local cluster = LANES[headers:get(LANE_HEADER) or ""] or PRS[headers:get(PR_HEADER) or ""]
  if cluster ~= nil then
    return cluster
  end
  local baggage = headers:get("baggage")
  if baggage ~= nil then
    for lane in string.gmatch("," .. baggage .. ",", MEMBER) do
      cluster = LANES[lane]
      if cluster ~= nil then
        return cluster
      end
    end
  end
  return default_cluster()
end
"""


def cluster_name(spec: LanesSpec, service: Service, port: int, subset: str) -> str:
    """Return Istio's outbound cluster name of *service*'s *subset* on *port*."""
    return f"outbound|{port}|{subset}|{host_name(spec, service)}"


def _quote(text: str) -> str:
    # Cluster names, lane names and header names: DNS characters, "." and "|" only.
    return '"' + text + '"'


def _pattern(text: str) -> str:
    """Return a Lua pattern matching *text* literally ("-" is magic in Lua patterns)."""
    return "".join(c if c.isalnum() else "%" + c for c in text)


def _table(entries: dict[str, str]) -> str:
    if not entries:
        return "{}"
    rows = "".join(f"  [{_quote(key)}] = {_quote(value)},\n" for key, value in entries.items())
    return "{\n" + rows + "}"


def lane_table_lua(spec: LanesSpec, service: Service, port: int) -> str:
    """Return the Lua cluster specifier of *service* on *port*: its tables, then the lookup."""
    headers = spec.headers
    lanes: dict[str, str] = {}
    prs: dict[str, str] = {}
    for lane in spec.lanes_of(service.name):
        cluster = cluster_name(spec, service, port, lane.name)
        lanes[lane.name] = cluster
        number = lane.name.removeprefix(headers.pr_prefix)
        if number != lane.name and number.isdigit():
            prs[number] = prs[lane.name] = cluster
    canary = service.canary
    settings = [
        f"local LANE_HEADER = {_quote(headers.lane)}",
        f"local PR_HEADER = {_quote(headers.pr)}",
        f"local BAGGAGE_KEY_PATTERN = {_quote(_pattern(headers.baggage_key))}",
        f"local STABLE = {_quote(cluster_name(spec, service, port, STABLE))}",
        "local CANARY = "
        + (_quote(cluster_name(spec, service, port, CANARY)) if canary else "nil"),
        f"local CANARY_WEIGHT = {canary.weight if canary else 0}",
        f"local LANES = {_table(lanes)}",
        f"local PRS = {_table(prs)}",
    ]
    return "-- lanectx lane table for " + service.name + "\n" + "\n".join(settings) + "\n" + _LOOKUP


def _route_patch(spec: LanesSpec, service: Service, port: int, context: str) -> dict[str, Any]:
    """Return the EnvoyFilter patch giving the lane route its Lua cluster specifier."""
    route_configuration: dict[str, Any] = {"vhost": {"route": {"name": table_route_name(service)}}}
    if context == "SIDECAR_OUTBOUND":
        route_configuration["portNumber"] = port
    plugin = {
        "extension": {
            "name": LUA_SPECIFIER,
            "typed_config": {
                "@type": _LUA_CONFIG,
                "source_code": {"inline_string": lane_table_lua(spec, service, port)},
                "default_cluster": cluster_name(spec, service, port, STABLE),
            },
        }
    }
    return {
        "applyTo": "HTTP_ROUTE",
        "match": {"context": context, "routeConfiguration": route_configuration},
        "patch": {
            "operation": "MERGE",
            "value": {"route": {"inline_cluster_specifier_plugin": plugin}},
        },
    }


def envoy_filter(spec: LanesSpec, service: Service) -> dict[str, Any]:
    """Return the EnvoyFilter holding *service*'s lane tables (sidecars, and its gateway).

    One patch per service port for sidecars; with ingress, one more for gateways, using
    the first port (the one the ingress VirtualService reaches).
    """
    patches = [_route_patch(spec, service, p.number, "SIDECAR_OUTBOUND") for p in service.ports]
    if service.ingress is not None:
        patches.append(_route_patch(spec, service, service.ports[0].number, "GATEWAY"))
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": metadata("EnvoyFilter", table_route_name(service), spec, service.name),
        "spec": {"configPatches": patches},
    }
