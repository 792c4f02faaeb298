"""Carry a pull-request lane through every hop of a shared staging cluster.

import lanectx
lanectx.instrument()
with lanectx.use_lane("pr-7"):
    lanectx.current_lane()   # 'pr-7'
"""

from ._config import LaneConfig
from ._context import current_lane, use_lane
from ._hop import mark_hop
from ._instrument import instrument, is_instrumented, uninstrument
from ._lane import is_valid_lane, validate_lane
from ._logfilter import LaneLogFilter
from ._names import lane_name
from ._resource import resource
from ._version import __version__
from .exceptions import ConfigurationError, InvalidLaneError, LaneError
from .propagator import LanePropagator

__all__ = [
    "ConfigurationError",
    "InvalidLaneError",
    "LaneConfig",
    "LaneError",
    "LaneLogFilter",
    "LanePropagator",
    "__version__",
    "current_lane",
    "instrument",
    "is_instrumented",
    "is_valid_lane",
    "lane_name",
    "mark_hop",
    "resource",
    "uninstrument",
    "use_lane",
    "validate_lane",
]
