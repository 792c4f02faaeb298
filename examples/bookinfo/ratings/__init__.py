"""ratings: a gRPC (asyncio) service with star ratings, and its client stubs.

The message and service modules are built from ``ratings.proto`` when this package
is imported (``grpc.protos_and_services``, needs grpcio-tools); nothing generated is
committed::

    from ratings import protos, services
    stub = services.RatingsStub(channel)
"""

from __future__ import annotations

import os
import sys

import grpc

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

protos, services = grpc.protos_and_services("ratings/ratings.proto")

__all__ = ["protos", "services"]
