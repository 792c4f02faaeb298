"""One lane decision per hop, also when one patched client is built on another.

requests sits on urllib3: the requests hop marks itself prepared, so the urllib3
hop under it leaves the headers alone (the decision is made once, on requests'
URL). The mark says nothing about the lane, which lives in baggage only::

    with prepared_hop():
        send(request)          # a nested patched client sees in_prepared_hop() True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["in_prepared_hop", "prepared_hop"]

_prepared: ContextVar[bool] = ContextVar("lanectx_prepared_hop", default=False)


def in_prepared_hop() -> bool:
    """Return True inside a hop whose headers an outer client integration already set."""
    return _prepared.get()


@contextmanager
def prepared_hop() -> Iterator[None]:
    """Mark the code inside as one hop whose lane headers are already decided."""
    token = _prepared.set(True)
    try:
        yield
    finally:
        _prepared.reset(token)
