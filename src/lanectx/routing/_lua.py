"""Lua source helpers shared by the programs lanectx renders for Envoy (LuaJIT / Lua 5.1)."""

from __future__ import annotations

__all__ = ["lua_pattern", "lua_string"]

# Written as they are; every other character becomes a decimal escape (\ddd).
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._:/-|%")


def lua_string(text: str) -> str:
    """Return *text* (its latin-1 bytes) as a Lua string literal."""
    return '"' + "".join(c if c in _SAFE else f"\\{ord(c):03d}" for c in text) + '"'


def lua_pattern(text: str) -> str:
    """Return a Lua pattern matching *text* literally (``-``, ``.`` and others are magic)."""
    return "".join(c if c.isalnum() else "%" + c for c in text)
