"""`instrument()` / `uninstrument()`: lane propagation everywhere, in one line.

import lanectx
lanectx.instrument()
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable

from opentelemetry import propagate
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator

from ._config import LaneConfig, set_active_config
from ._import_hook import when_imported
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


def _when_imported(
    library: str, name: str, config: LaneConfig, install: str = "_install"
) -> Callable[[], None]:
    """Install ``lanectx.<name>`` once *library* is imported (now, if it already is)."""
    undone: list[Callable[[], None]] = []

    def hook(module: object) -> None:
        done = getattr(importlib.import_module(f"lanectx.{name}"), install)(config)
        if done is not None:
            undone.append(done)

    forget = when_imported(library, hook)

    def undo() -> None:
        forget()
        while undone:
            undone.pop()()

    return undo


def _steps(config: LaneConfig) -> list[tuple[str, Callable[[], Callable[[], None] | None]]]:
    from . import _executors, _telemetry_setup, _threads

    # (library module, lanectx module, its install function): each is patched when the
    # application imports the library, so instrument() itself imports none of them.
    libraries = [
        ("httpx", "httpx", "_install"),
        ("requests", "requests", "_install"),
        ("urllib3", "urllib3", "_install"),
        ("urllib.request", "urllib", "_install"),
        ("grpc", "grpc", "_install"),
        ("aiohttp", "aiohttp", "_install"),
        ("aiohttp.web", "aiohttp", "_install_server"),
        ("starlette.applications", "starlette", "_install"),
        ("flask", "flask", "_install"),
        ("django.core.handlers.wsgi", "django", "_install_wsgi"),
        ("django.core.handlers.asgi", "django", "_install_asgi"),
        ("celery", "celery", "_install"),
        ("confluent_kafka", "kafka", "_install_confluent"),
        ("aiokafka", "kafka", "_install_aiokafka"),
        ("kafka", "kafka", "_install_kafka_python"),
    ]
    return [
        ("propagator", lambda: _install_propagator(config)),
        *(
            (library, functools.partial(_when_imported, library, name, config, install))
            for library, name, install in libraries
        ),
        ("executors", _executors._install),
        ("threads", _threads._install),
        ("telemetry", _telemetry_setup.install),
    ]


def instrument(config: LaneConfig | None = None) -> bool:
    """Turn on lane propagation for this process; return False if it was not done.

    Sets the global propagator (keeping the existing ones), patches the clients
    (httpx, requests, urllib3, urllib, aiohttp, grpc) and servers (grpc, aiohttp,
    Starlette/FastAPI, Flask, Django) each when the application imports it, carries
    context into threads and thread pools, and adds the lane to spans and logs of a
    configured SDK. Idempotent: a
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
