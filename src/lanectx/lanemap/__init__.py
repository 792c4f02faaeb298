"""The lane map (which lanes have which services) and routing without a mesh.

LANECTX_LANE_MAP=/etc/lanectx/lanes.json LANECTX_ROUTING=client python app.py

from lanectx import lanemap
lanemap.lane_map().has_lane("reviews", "pr-31")          # read-only snapshot
lanemap.route_call(config, "reviews", 9080, "pr-31")     # where a call goes
lanemap.this_service(), lanemap.this_lane()              # this process

The map is a JSON file (``{"services": {...}, "endpoints": {...}}``, see
docs/meshless.md); it is checked for changes at most twice a second, never per call.
"""

from .._resource import process_lane as this_lane
from .._resource import process_service as this_service
from ._map import EMPTY, STABLE, LaneMap, LaneMapError, parse_lane_map
from ._route import (
    REASON_LANE,
    REASON_NO_LANE,
    REASON_NOT_DEPLOYED,
    Route,
    lane_map,
    route_call,
    service_of_host,
)
from ._source import CHECK_INTERVAL, LaneMapSource

__all__ = [
    "CHECK_INTERVAL",
    "EMPTY",
    "REASON_LANE",
    "REASON_NOT_DEPLOYED",
    "REASON_NO_LANE",
    "STABLE",
    "LaneMap",
    "LaneMapError",
    "LaneMapSource",
    "Route",
    "lane_map",
    "parse_lane_map",
    "route_call",
    "service_of_host",
    "this_lane",
    "this_service",
]
