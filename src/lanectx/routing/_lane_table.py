"""Lane routing by table lookup (``laneRouting: table``): lookups instead of one route per lane.

With one mesh route per lane and header source, a request for the last of N lanes is
tested against every route before it: its cost grows with N (about 10x at 1000 lanes
when the lane comes in baggage, see docs/benchmarks.md). The table design has, after
the stable fast path, three lane routes per service, each given by an EnvoyFilter a
cluster specifier that looks the lane up in a table:

- ``<service>.<namespace>-lanes`` (the lane header is present): Envoy's matcher cluster specifier,
  native hash maps: the lane header, then the PR header, else stable. This is the path
  of every request a lanectx client sends, as they always send the lane header.
- ``<service>.<namespace>-lanes-pr`` (the PR header is present): the same, on the PR header.
- ``<service>.<namespace>-lanes-baggage`` (the rest: a baggage ``lane`` member): a Lua cluster
  specifier scanning each member named by the baggage key, else stable.

Lookups follow the contract's precedence: the lane header, else the PR header, decides
(a lane without a version here goes to stable, whatever the baggage says). Requests
that carry a lane never go to the canary. Without the EnvoyFilter the lane routes send
everything to stable, so a missing filter never sends traffic to a lane. Cluster names
follow Istio's ``outbound|<port>|<subset>|<host>``.

istiod applies an EnvoyFilter only to proxies of its own namespace, or to every proxy
when it is in the root namespace (``PushContext.EnvoyFilters``). Callers of a service
run in any namespace, and ingress gateways usually in istio-system, so the filter
``<service>.<namespace>-lanes`` is rendered into the mesh root namespace
(``meshRootNamespace``, default ``istio-system``); the namespace in the route names
keeps it from touching another namespace's routes::

    envoy_filter(spec, spec.service("reviews"))
"""

from __future__ import annotations

from typing import Any

from ._istio import host_name, table_route_names
from ._lua import lua_pattern, lua_string
from ._model import STABLE, LanesSpec, Service
from ._workloads import metadata

__all__ = ["cluster_name", "envoy_filter", "lane_table_lua", "lane_table_matcher"]

_LUA = "envoy.router.cluster_specifier_plugin.lua"
_LUA_CONFIG = "type.googleapis.com/envoy.extensions.router.cluster_specifiers.lua.v3.LuaConfig"
_MATCHER = "envoy.router.cluster_specifier_plugin.matcher"
_MATCHER_TYPES = "type.googleapis.com/envoy.extensions.router.cluster_specifiers.matcher.v3"
_HEADER_INPUT = "type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput"

_LOOKUP = r"""
-- Each member named BAGGAGE_KEY, in order: the value runs to the next ";" or ",", less
-- trailing whitespace. Envoy joins repeated baggage headers with ",".
local MEMBER = ",[ \t]*" .. BAGGAGE_KEY_PATTERN .. "[ \t]*=[ \t]*([^,;]-)[ \t]*%f[,;]"

function envoy_on_route(route_handle)
  local baggage = route_handle:headers():get("baggage")
  if baggage ~= nil then
    for lane in string.gmatch("," .. baggage .. ",", MEMBER) do
      local cluster = LANES[lane]
      if cluster ~= nil then
        return cluster
      end
    end
  end
  return STABLE
end
"""


def cluster_name(spec: LanesSpec, service: Service, port: int, subset: str) -> str:
    """Return Istio's outbound cluster name of *service*'s *subset* on *port*."""
    return f"outbound|{port}|{subset}|{host_name(spec, service)}"


def _tables(spec: LanesSpec, service: Service, port: int) -> tuple[dict[str, str], ...]:
    """Return (lane -> cluster, PR header value -> cluster) for *service* on *port*."""
    lanes: dict[str, str] = {}
    prs: dict[str, str] = {}
    for lane in spec.lanes_of(service.name):
        lanes[lane.name] = cluster = cluster_name(spec, service, port, lane.name)
        number = lane.name.removeprefix(spec.headers.pr_prefix)
        if number != lane.name and number.isdigit():
            prs[number] = prs[lane.name] = cluster
    return lanes, prs


def _lua_table(entries: dict[str, str]) -> str:
    if not entries:
        return "{}"
    rows = "".join(f"  [{lua_string(k)}] = {lua_string(v)},\n" for k, v in entries.items())
    return "{\n" + rows + "}"


def lane_table_lua(spec: LanesSpec, service: Service, port: int) -> str:
    """Return the Lua cluster specifier of ``<service>-lanes-baggage`` on *port*."""
    lanes, _ = _tables(spec, service, port)
    settings = [
        f"local BAGGAGE_KEY_PATTERN = {lua_string(lua_pattern(spec.headers.baggage_key))}",
        f"local STABLE = {lua_string(cluster_name(spec, service, port, STABLE))}",
        f"local LANES = {_lua_table(lanes)}",
    ]
    return f"-- lanectx lane table for {service.name}\n" + "\n".join(settings) + "\n" + _LOOKUP


def _cluster(cluster: str) -> dict[str, Any]:
    typed = {"@type": f"{_MATCHER_TYPES}.ClusterAction", "cluster": cluster}
    return {"action": {"name": "cluster", "typed_config": typed}}


def lane_table_matcher(
    spec: LanesSpec, service: Service, port: int, *, lane_header: bool = True
) -> dict[str, Any]:
    """Return a matcher on *port*: the lane header (unless not *lane_header*), then the PR
    header, to the lane's cluster, else stable."""
    lanes, prs = _tables(spec, service, port)
    on_no_match = _cluster(cluster_name(spec, service, port, STABLE))
    levels = [(spec.headers.pr, prs)]
    if lane_header:
        levels.append((spec.headers.lane, lanes))
    for header, table in levels:
        if table:
            tree = {
                "input": {
                    "name": header,
                    "typed_config": {"@type": _HEADER_INPUT, "header_name": header},
                },
                "exact_match_map": {"map": {key: _cluster(c) for key, c in table.items()}},
            }
            on_no_match = {"matcher": {"matcher_tree": tree, "on_no_match": on_no_match}}
    return on_no_match["matcher"]  # type: ignore[no-any-return]


def _plugin(name: str, typed_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "route": {
            "inline_cluster_specifier_plugin": {
                "extension": {"name": name, "typed_config": typed_config}
            }
        }
    }


def _patches(
    spec: LanesSpec, service: Service, port: int, context: str, names: tuple[str, str, str]
) -> list[dict[str, Any]]:
    """Return the EnvoyFilter patches giving the lane routes *names* their lookups on *port*."""
    by_lane, by_pr, by_baggage = names
    stable = cluster_name(spec, service, port, STABLE)

    def matcher(lane_header: bool) -> dict[str, Any]:
        return _plugin(
            _MATCHER,
            {
                "@type": f"{_MATCHER_TYPES}.MatcherClusterSpecifier",
                "cluster_matcher": lane_table_matcher(spec, service, port, lane_header=lane_header),
            },
        )

    values = {by_lane: matcher(lane_header=True)}
    if _tables(spec, service, port)[1]:  # no PR lanes: the PR route's stable is right
        values[by_pr] = matcher(lane_header=False)
    values[by_baggage] = _plugin(
        _LUA,
        {
            "@type": _LUA_CONFIG,
            "source_code": {"inline_string": lane_table_lua(spec, service, port)},
            "default_cluster": stable,
        },
    )
    patches = []
    for route, value in values.items():
        route_configuration: dict[str, Any] = {"vhost": {"route": {"name": route}}}
        if context == "SIDECAR_OUTBOUND":
            route_configuration["portNumber"] = port
        patches.append(
            {
                "applyTo": "HTTP_ROUTE",
                "match": {"context": context, "routeConfiguration": route_configuration},
                "patch": {"operation": "MERGE", "value": value},
            }
        )
    return patches


def envoy_filter(spec: LanesSpec, service: Service) -> dict[str, Any]:
    """Return the EnvoyFilter holding *service*'s lane tables (sidecars, and its gateway).

    Patches per service port for sidecars; with ingress, more for gateways, using the
    first port (the one the ingress VirtualService reaches). It lives in the mesh root
    namespace, so it reaches callers in every namespace and gateways anywhere.
    """
    patches = [
        patch
        for port in service.ports
        for patch in _patches(
            spec, service, port.number, "SIDECAR_OUTBOUND", table_route_names(spec, service, port)
        )
    ]
    if service.ingress is not None:
        first = service.ports[0].number
        patches += _patches(spec, service, first, "GATEWAY", table_route_names(spec, service))
    name = f"{service.name}.{spec.namespace}-lanes"
    meta = metadata("EnvoyFilter", name, spec, service.name)
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {**meta, "namespace": spec.root_namespace},
        "spec": {"configPatches": patches},
    }
