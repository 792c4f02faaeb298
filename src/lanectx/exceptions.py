"""Exceptions raised by lanectx.

Only configuration and explicit API misuse raise; bad request input never does::

    try:
        lanectx.use_lane("Not A Lane")
    except lanectx.InvalidLaneError as err:
        print(err)
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "InvalidLaneError", "LaneError"]


class LaneError(Exception):
    """Base class of every lanectx exception."""


class InvalidLaneError(LaneError, ValueError):
    """A lane id that does not follow the lane grammar was given to the API."""


class ConfigurationError(LaneError, ValueError):
    """A `LaneConfig` value (or a `LANECTX_*` variable) is invalid."""
