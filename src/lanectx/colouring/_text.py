"""What every matcher kind is built from: the matcher type, option checks, text matches.

Shared by the built-in kinds (`_matchers`) and the ``jwt`` kind (`_jwt`)::

    options = options_of(raw, ("name",), TEXT_OPS)
    TextMatch.parse(options)("beta")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._request import Request

__all__ = ["TEXT_OPS", "Matcher", "MatcherFactory", "TextMatch", "options_of", "token_name"]

Matcher = Callable[[Request], bool]
MatcherFactory = Callable[[Any], Matcher]

TEXT_OPS = ("exact", "prefix", "suffix", "regex")
_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")


def options_of(
    options: object, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Return *options* as a dict after checking it has exactly the allowed keys."""
    if not isinstance(options, Mapping):
        raise ValueError(f"expected a mapping with {', '.join(required)}, got {options!r}")
    unknown = sorted(str(key) for key in options if key not in (*required, *optional))
    if unknown:
        allowed = ", ".join((*required, *optional))
        raise ValueError(f"unknown option {unknown[0]!r} (allowed: {allowed})")
    missing = [key for key in required if key not in options]
    if missing:
        raise ValueError(f"missing option {missing[0]!r}")
    return dict(options)


def token_name(value: object, what: str = "name", lower: bool = True) -> str:
    """Return *value* if it is a token (a header, cookie or parameter name)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value.lower()):
        raise ValueError(f"{what} must be a name of token characters, got {value!r}")
    return value.lower() if lower else value


@dataclass(frozen=True)
class TextMatch:
    """How a text must look: ``exact``, ``prefix``, ``suffix`` or (whole-text) ``regex``."""

    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op == "regex":
            try:
                object.__setattr__(self, "_pattern", re.compile(self.value))
            except re.error as err:
                raise ValueError(f"bad regex {self.value!r}: {err}") from None

    def __call__(self, text: str) -> bool:
        """Return True when *text* matches."""
        if self.op == "exact":
            return text == self.value
        if self.op == "prefix":
            return text.startswith(self.value)
        if self.op == "suffix":
            return text.endswith(self.value)
        return self._pattern.fullmatch(text) is not None  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, options: Mapping[str, Any], lower: bool = False) -> TextMatch:
        """Read the one text operator among *options*."""
        ops = [op for op in TEXT_OPS if op in options]
        if len(ops) != 1:
            raise ValueError(f"give exactly one of {', '.join(TEXT_OPS)}")
        value = options[ops[0]]
        if not isinstance(value, str):
            raise ValueError(f"{ops[0]} must be a string, got {value!r}")
        return cls(ops[0], value.lower() if lower and ops[0] != "regex" else value)
