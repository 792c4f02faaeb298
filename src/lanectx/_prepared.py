"""One lane decision per hop, also when one patched client is built on another.

requests sits on urllib3: the requests hop marks itself prepared, so the urllib3
hop under it leaves the headers alone (the decision is made once, on requests'
URL). The mark says nothing about the lane, which lives in baggage only::

    token = PREPARED.set(True)
    try:
        send(request)          # a nested patched client sees PREPARED.get() True
    finally:
        PREPARED.reset(token)
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["PREPARED"]

PREPARED: ContextVar[bool] = ContextVar("lanectx_prepared_hop", default=False)
