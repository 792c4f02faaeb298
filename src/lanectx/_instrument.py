"""`instrument()` / `uninstrument()`: lane propagation everywhere, in one line.

import lanectx
lanectx.instrument()
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

from opentelemetry import propagate
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator

from ._config import LaneConfig, set_active_config
from .propagator import LanePropagator

__all__ = ["instrument", "is_instrumented", "uninstrument"]

logger = logging.getLogger("lanectx")
_lock = threading.Lock()
_undo: list[Callable[[], None]] | None = None


def _has_lane(propagator: TextMapPropagator) -> bool:
    if isinstance(propagator, LanePropagator):
        return True
    return any(_has_lane(p) for p in getattr(propagator, "_propagators", ()))


def _install_propagator(config: LaneConfig) -> Callable[[], None] | None:
    previous = propagate.get_global_textmap()
    if _has_lane(previous):
        return None
    ours = CompositePropagator([previous, LanePropagator(config)])
    propagate.set_global_textmap(ours)

    def undo() -> None:
        if propagate.get_global_textmap() is ours:
            propagate.set_global_textmap(previous)

    return undo


def _install_module(name: str, config: LaneConfig) -> Callable[[], None] | None:
    module = importlib.import_module(f"lanectx.{name}")
    undo: Callable[[], None] | None = module._install(config)
    return undo


def _steps(config: LaneConfig) -> list[tuple[str, Callable[[], Callable[[], None] | None]]]:
    from . import _executors, _telemetry_setup

    return [
        ("propagator", lambda: _install_propagator(config)),
        ("httpx", lambda: _install_module("httpx", config)),
        ("requests", lambda: _install_module("requests", config)),
        ("grpc", lambda: _install_module("grpc", config)),
        ("celery", lambda: _install_module("celery", config)),
        ("kafka", lambda: _install_module("kafka", config)),
        ("executors", _executors._install),
        ("telemetry", _telemetry_setup.install),
    ]


def instrument(config: LaneConfig | None = None) -> bool:
    """Turn on lane propagation for this process; return False if it was not done.

    Sets the global propagator (keeping the existing ones), patches the installed
    clients (httpx, requests, grpc) and gRPC servers, carries context into thread
    pools, and adds the lane to spans and logs of a configured SDK. Idempotent: a
    second call logs a warning and does nothing. Never raises: a missing optional
    library is skipped (debug log), any other failure is logged.
    """
    global _undo
    with _lock:
        if _undo is not None:
            logger.warning("lanectx is already instrumented; call uninstrument() first")
            return False
        try:
            config = LaneConfig.from_env() if config is None else config
        except Exception as err:
            logger.error("lanectx not instrumented: %s", err)
            return False
        if not config.enabled:
            logger.info("lanectx not instrumented: disabled by configuration")
            return False
        set_active_config(config)
        undo: list[Callable[[], None]] = []
        for name, step in _steps(config):
            try:
                done = step()
            except ImportError as err:
                logger.debug("lanectx: skipping %s (%s)", name, err)
                continue
            except Exception:
                logger.warning("lanectx: could not instrument %s", name, exc_info=True)
                continue
            if done is not None:
                undo.append(done)
        _undo = undo
        return True


def uninstrument() -> None:
    """Undo `instrument()`: restore the propagator, clients, executors and processors."""
    global _undo
    with _lock:
        steps, _undo = _undo, None
        for step in reversed(steps or ()):
            try:
                step()
            except Exception:
                logger.warning("lanectx: could not undo a patch", exc_info=True)
        if steps is not None:
            set_active_config(None)


def is_instrumented() -> bool:
    """Return True between `instrument()` and `uninstrument()`."""
    return _undo is not None
