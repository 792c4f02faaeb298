"""LanePropagator on its own and beside OTel's tracecontext and baggage propagators."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import lanectx
from lanectx import LaneConfig, LanePropagator

from .test_lane import PRECEDENCE

OTEL_CHAIN = CompositePropagator(
    [TraceContextTextMapPropagator(), W3CBaggagePropagator(), LanePropagator()]
)


@pytest.mark.parametrize(("headers", "lane"), PRECEDENCE)
def test_extract_follows_the_precedence(headers: dict[str, list[str]], lane: str | None) -> None:
    """The lane in the extracted context is the first valid source's."""
    ctx = LanePropagator().extract(headers, Context())
    assert lanectx.current_lane(ctx) == lane


@pytest.mark.parametrize(
    ("incoming", "lane", "outgoing"),
    [
        ("lane=Bad_Lane,a=1", None, "a=1"),
        ("a=1,lane=pr-7;p=1", "pr-7", "a=1,lane=pr-7"),
        ("lane=pr-7", "pr-7", "lane=pr-7"),
    ],
)
def test_invalid_lane_member_is_never_forwarded(
    incoming: str, lane: str | None, outgoing: str
) -> None:
    """After the OTel chain, an invalid lane member is gone and other members remain."""
    ctx = OTEL_CHAIN.extract({"baggage": incoming}, Context())
    assert lanectx.current_lane(ctx) == lane
    carrier: dict[str, str] = {}
    OTEL_CHAIN.inject(carrier, ctx)
    assert carrier["baggage"] == outgoing
    assert carrier.get("x-lane-id") == lane


def test_header_lane_overrides_baggage_lane() -> None:
    """x-lane-id beats the baggage member, and the forwarded baggage says the same lane."""
    ctx = OTEL_CHAIN.extract({"x-lane-id": "pr-1", "baggage": "lane=pr-2,a=1"}, Context())
    carrier: dict[str, str] = {}
    OTEL_CHAIN.inject(carrier, ctx)
    assert carrier["x-lane-id"] == "pr-1"
    assert carrier["baggage"] == "lane=pr-1,a=1"


def test_no_lane_injects_nothing() -> None:
    """With no lane in the context, inject adds no header, and fields names the header."""
    carrier: dict[str, str] = {}
    LanePropagator().inject(carrier, Context())
    assert carrier == {}
    assert LanePropagator().fields == {"x-lane-id"}


def test_disabled_config_is_a_no_op() -> None:
    """A disabled config neither extracts nor injects."""
    propagator = LanePropagator(LaneConfig(enabled=False))
    ctx = propagator.extract({"x-lane-id": "pr-1"}, Context())
    assert lanectx.current_lane(ctx) is None
    carrier: dict[str, str] = {}
    propagator.inject(carrier, baggage.set_baggage("lane", "pr-1", Context()))
    assert carrier == {}


def test_seed_compatible_config() -> None:
    """Header x-pr-id and baggage key pr_id behave like the original design: pr_id=123."""
    config = LaneConfig(
        lane_headers=("x-pr-id",), pr_headers=(), outbound_header="x-pr-id", baggage_key="pr_id"
    )
    chain = CompositePropagator([W3CBaggagePropagator(), LanePropagator(config)])
    ctx = chain.extract({"x-pr-id": "123"}, Context())
    assert baggage.get_baggage("pr_id", ctx) == "123"
    carrier: dict[str, str] = {}
    chain.inject(carrier, ctx)
    assert carrier == {"baggage": "pr_id=123", "x-pr-id": "123"}


def test_entry_point_loads_from_otel_propagators() -> None:
    """OTEL_PROPAGATORS=tracecontext,baggage,lane loads LanePropagator by its entry point."""
    code = (
        "from opentelemetry import propagate; import lanectx;"
        "ctx = propagate.extract({'x-pr-id': '41'});"
        "print(lanectx.current_lane(ctx))"
    )
    env = {"OTEL_PROPAGATORS": "tracecontext,baggage,lane", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "pr-41"


@pytest.mark.parametrize(("headers", "lane"), PRECEDENCE)
def test_asgi_and_wsgi_carriers_give_the_same_lane(
    headers: dict[str, list[str]], lane: str | None
) -> None:
    """OTel's ASGI scope and WSGI environ carriers (read directly) agree with a plain dict."""
    from opentelemetry.instrumentation.asgi import asgi_getter
    from opentelemetry.instrumentation.wsgi import wsgi_getter

    scope = {
        "type": "http",
        "headers": [(k.encode(), v.encode()) for k, vs in headers.items() for v in vs],
    }
    environ = {"wsgi.version": (1, 0)}
    for name, values in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = ",".join(values)
    propagator = LanePropagator()
    from_scope = propagator.extract(scope, Context(), asgi_getter)
    from_environ = propagator.extract(environ, Context(), wsgi_getter)
    assert lanectx.current_lane(from_scope) == lane
    if all(len(values) == 1 for values in headers.values()):  # WSGI joins repeats
        assert lanectx.current_lane(from_environ) == lane
