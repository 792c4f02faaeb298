"""Lane-scoped names: the stable name in stable, a lane's own name in a lane.

A lane version of a service that needs its own copy of something shared (a topic, a
queue, a consumer group, a Redis key prefix, a database schema) names it with
`lane_name`, and runs the same code as stable::

    lane_name("orders")                       # 'orders' in stable, 'orders-pr-7' in pr-7
    lane_name("cart", separator=":")          # 'cart' / 'cart:pr-7'  (a Redis key prefix)
    lane_name("shop", separator="_")          # 'shop' / 'shop_pr_7'  (an SQL schema)
"""

from __future__ import annotations

from ._lane import validate_lane
from ._resource import process_lane

__all__ = ["lane_name"]

_THIS_PROCESS = "<this process>"


def lane_name(name: str, lane: str | None = _THIS_PROCESS, *, separator: str = "-") -> str:
    """Return *name* for *lane*: *name* itself without a lane, ``<name><separator><lane>`` in one.

    *lane* defaults to this process's own lane (``LANE_ID`` / ``PR_ID``), so the
    stable and the lane version derive their names from the same code. With
    *separator* ``"_"`` the lane's hyphens become underscores too, so the result is
    a plain SQL identifier (``shop_pr_7``). Raises `InvalidLaneError` for an invalid
    *lane* and `ValueError` for an empty *name*.
    """
    if not name:
        raise ValueError("lane_name: the name must not be empty")
    if lane == _THIS_PROCESS:
        lane = process_lane()
    if lane is None:
        return name
    lane = validate_lane(lane)
    if separator == "_":
        lane = lane.replace("-", "_")
    return f"{name}{separator}{lane}"
