"""Case-insensitive, copy-on-write headers over a caller's plain mapping.

urllib3 and urllib take headers as plain dicts, often the caller's own (or a
pool's defaults shared by every call). `prepare_request` needs case-insensitive
headers it may change; this view gives it that, and copies only on a change::

    view = HeaderView(headers)
    prepare_request(config, host, view, HeaderView.add_new)
    headers = view.changed if view.changed is not None else headers   # a copy, if changed
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._outbound import LaneHeaders

__all__ = ["HeaderView"]


class HeaderView(MutableMapping[str, str]):
    """Headers read from *source* by any case; the first change copies them to `changed`.

    With *owned*, *source* is a dict of the caller's own making: it is changed in place
    (and becomes `changed`) instead of copied.
    """

    __slots__ = ("_owned", "_source", "changed")

    def __init__(self, source: Mapping[str, str] | None, owned: bool = False) -> None:
        self._source: Mapping[str, str] = {} if source is None else source
        self._owned = owned and type(source) is dict
        self.changed: MutableMapping[str, str] | None = None

    def _headers(self) -> Mapping[str, str]:
        return self._source if self.changed is None else self.changed

    def _key(self, name: str) -> str | None:
        headers = self._headers()
        if name in headers:
            return name
        lower = name.lower()
        for key in headers:
            if key.lower() == lower:
                return key
        return None

    def __getitem__(self, name: str) -> str:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        return self._headers()[key]

    def get(self, name: str, default: Any = None) -> Any:
        """Return the value of header *name* in any case, else *default* (no KeyError)."""
        key = self._key(name)
        return default if key is None else self._headers()[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) is not None

    def __setitem__(self, name: str, value: str) -> None:
        own = self._own()
        lower = name.lower()
        for key in [key for key in own if key.lower() == lower and key != name]:
            del own[key]
        own[name] = value

    def __delitem__(self, name: str) -> None:
        lower = name.lower()
        own = self._own()
        keys = [key for key in own if key.lower() == lower]
        if not keys:
            raise KeyError(name)
        for key in keys:
            del own[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers())

    def __len__(self) -> int:
        return len(self._headers())

    def add_new(self, added: LaneHeaders) -> bool:
        """`prepare_request`'s quick add (`Add`): *added*, when the view has none of them."""
        try:
            if not added.names.isdisjoint(map(str.lower, self._headers())):
                return False
        except TypeError:  # a name that is not text: leave it to the general path
            return False
        own = self._own()
        if type(own) is dict:
            own.update(added.pairs)
        else:
            for name, value in added.pairs:
                own[name] = value
        return True

    def _own(self) -> MutableMapping[str, str]:
        if self.changed is None and type(self._source) is dict:
            self.changed = self._source if self._owned else self._source.copy()
        elif self.changed is None:
            # The source's own copy keeps its kind (urllib3's HTTPHeaderDict keeps every
            # value of a repeated header); a plain dict copy otherwise.
            copy = getattr(self._source, "copy", None)
            own = copy() if callable(copy) else None
            self.changed = own if isinstance(own, MutableMapping) else dict(self._source.items())
        return self.changed
