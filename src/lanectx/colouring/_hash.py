"""The stable hash behind percentage rules: FNV-1a, 32 bits, over the key's bytes.

The same function is written in Lua for the gateway filter, so a user lands in the
same bucket in every process, every Python version and at the gateway::

    bucket(b"user-42")        # 0..9999
    in_percent(b"user-42", 500)  # True for about 5% of keys
"""

from __future__ import annotations

__all__ = ["BUCKETS", "bucket", "fnv1a_32", "in_percent"]

BUCKETS = 10_000
_OFFSET_BASIS = 0x811C9DC5
_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def fnv1a_32(data: bytes) -> int:
    """Return the 32-bit FNV-1a hash of *data*."""
    value = _OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * _PRIME) & _MASK
    return value


def bucket(data: bytes) -> int:
    """Return the bucket (0 to 9999) of *data*: its FNV-1a hash modulo 10000."""
    return fnv1a_32(data) % BUCKETS


def in_percent(data: bytes, threshold: int) -> bool:
    """Return True when *data* falls in the first *threshold* of 10000 buckets."""
    return bucket(data) < threshold
