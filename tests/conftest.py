"""Fixtures shared by every test: a clean lane state, and real servers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import context, propagate

import lanectx
from lanectx._config import set_active_config

from .servers import CaptureServer

_PRISTINE_PROPAGATOR = propagate.get_global_textmap()
_ROOT_LOG_LEVEL = logging.getLogger().level


@pytest.fixture(autouse=True)
def _clean_lane_state() -> Iterator[None]:
    """Every test starts with an empty context and ends uninstrumented, propagator reset."""
    logging.getLogger().setLevel(_ROOT_LOG_LEVEL)  # a Celery worker fixture raises it to ERROR
    token = context.attach(context.Context())
    yield
    context.detach(token)
    lanectx.uninstrument()
    propagate.set_global_textmap(_PRISTINE_PROPAGATOR)
    set_active_config(None)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    """A running capture server on 127.0.0.1."""
    with CaptureServer() as server:
        yield server
