"""Reversible patching of a class or module attribute.

A patch stays correct when someone else wraps the same attribute after us: undo
restores the original only if our wrapper is still in place, and otherwise turns
the wrapper into a pass-through.

    undo = patch(httpx.Client, "_send_single_request", make_wrapper)
    undo()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["patch"]

_MARK = "__lanectx_patch__"


class _Switch:
    on = True


def patch(owner: Any, name: str, make: Callable[[Any, _Switch], Any]) -> Callable[[], None]:
    """Replace ``owner.name`` with ``make(original, switch)``; return the undo function.

    The wrapper must call the original untouched when ``switch.on`` is False.
    """
    own = name in vars(owner)
    original = getattr(owner, name)
    switch = _Switch()
    wrapper = make(original, switch)
    setattr(wrapper, _MARK, switch)
    wrapper.__wrapped__ = original
    setattr(owner, name, wrapper)

    def undo() -> None:
        switch.on = False
        if vars(owner).get(name) is wrapper:
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)

    return undo
