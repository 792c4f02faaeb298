"""Run a function once a module has been imported: at once, or when it is first imported.

``instrument()`` patches a library only when the application imports it, so a
process pays only for the libraries it uses::

    undo = when_imported("httpx", lambda module: patch_httpx())
    undo()   # forget the hook (a patch already made is undone by its own undo)
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["when_imported"]

logger = logging.getLogger("lanectx")
Hook = Callable[[ModuleType], None]

_lock = threading.RLock()
_hooks: dict[str, list[Hook]] = {}


class _Loader(importlib.abc.Loader):
    """The module's own loader, then the hooks; the module keeps its own loader."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        self._loader.exec_module(module)
        parent, _, child = self._name.rpartition(".")
        if parent in sys.modules:  # as the import system does next; hooks may need it
            setattr(sys.modules[parent], child, module)
        _fire(self._name, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders return for hooked names."""

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _hooks or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec: importlib.machinery.ModuleSpec | None = finder.find_spec(
                    fullname, path, target
                )
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.name = None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, fullname)
        return spec


_finder = _Finder()


def _fire(name: str, module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(name, [])
        if not _hooks and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
    for hook in hooks:
        try:
            hook(module)
        except Exception:
            logger.warning("lanectx: could not instrument %s", name, exc_info=True)


def when_imported(name: str, hook: Hook) -> Callable[[], None]:
    """Call ``hook(module)`` now if *name* is imported, else right after its first import.

    Returns a function that forgets the hook if it has not run yet. A hook that
    raises is logged, never raised into the importing code.
    """
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return lambda: None
    with _lock:
        _hooks.setdefault(name, []).append(hook)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)

    def forget() -> None:
        with _lock:
            waiting = _hooks.get(name, [])
            if hook in waiting:
                waiting.remove(hook)
            if not waiting:
                _hooks.pop(name, None)
            if not _hooks and _finder in sys.meta_path:
                sys.meta_path.remove(_finder)

    return forget
