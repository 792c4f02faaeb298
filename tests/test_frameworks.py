"""Servers without a wrapper: instrument() alone makes each framework's app lane-aware."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware import Middleware

import lanectx
from lanectx import LaneConfig
from lanectx.aiohttp import lane_middleware
from lanectx.asgi import LaneMiddleware
from lanectx.wsgi import LaneMiddleware as WSGILaneMiddleware

from .frameworks import (
    SERVERS,
    aiohttp_app,
    django_wsgi,
    fastapi_app,
    flask_app,
    run_aiohttp,
    starlette_app,
)
from .servers import run_uvicorn, run_wsgi

# Loopback callers are not trusted by this config: a lane reaching the app proves that a
# second, default-configured lift ran after the user's own middleware.
NOT_LOOPBACK = LaneConfig(trusted_callers=("10.0.0.0/8",))


@pytest.fixture(params=list(SERVERS))
def serve(request: pytest.FixtureRequest) -> Callable[[], AbstractContextManager[str]]:
    """Each framework's test app, served on 127.0.0.1 by a real server."""
    return SERVERS[request.param]


def _lane(url: str, headers: dict[str, str] | None = None) -> str | None:
    response = httpx.get(f"{url}/lane", headers=headers or {}, timeout=10)
    assert response.status_code == 200
    lane: str | None = response.json()["lane"]
    return lane


def test_lane_is_current_without_a_wrapper(
    serve: Callable[[], AbstractContextManager[str]],
) -> None:
    """x-lane-id, x-pr-id and baggage reach the app; no header means no lane."""
    lanectx.instrument()
    with serve() as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert _lane(url, {"x-pr-id": "8"}) == "pr-8"
        assert _lane(url, {"baggage": "a=1,lane=pr-9"}) == "pr-9"
        assert _lane(url) is None


def test_invalid_lane_is_dropped_not_an_error(
    serve: Callable[[], AbstractContextManager[str]],
) -> None:
    """A malformed lane is served with no lane and a 200."""
    lanectx.instrument()
    with serve() as url:
        assert _lane(url, {"x-lane-id": "Not A Lane!"}) is None


def test_streamed_body_runs_in_the_lane(serve: Callable[[], AbstractContextManager[str]]) -> None:
    """Every chunk of a streamed response is produced with the request's lane current."""
    lanectx.instrument()
    with serve() as url:
        body = httpx.get(f"{url}/stream", headers={"x-lane-id": "pr-3"}, timeout=10).text
    assert body == "pr-3;pr-3;pr-3;"


def test_untrusted_caller_gets_no_lane(serve: Callable[[], AbstractContextManager[str]]) -> None:
    """With a trust header configured, only requests carrying it may choose a lane."""
    lanectx.instrument(LaneConfig(trust_header="x-edge", trust_value="s3cret"))
    with serve() as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) is None
        assert _lane(url, {"x-lane-id": "pr-7", "x-edge": "wrong"}) is None
        assert _lane(url, {"x-lane-id": "pr-7", "x-edge": "s3cret"}) == "pr-7"


def test_concurrent_requests_keep_distinct_lanes(
    serve: Callable[[], AbstractContextManager[str]],
) -> None:
    """Concurrent requests with different lanes each see their own."""
    lanectx.instrument()

    async def go(url: str) -> list[tuple[str, str | None]]:
        async with httpx.AsyncClient(timeout=20) as client:

            async def one(n: int) -> tuple[str, str | None]:
                response = await client.get(f"{url}/lane", headers={"x-lane-id": f"pr-{n}"})
                return f"pr-{n}", response.json()["lane"]

            return await asyncio.gather(*(one(n) for n in range(24)))

    with serve() as url:
        pairs = asyncio.run(go(url))
    assert all(sent == seen for sent, seen in pairs)


def test_uninstrument_turns_it_off(serve: Callable[[], AbstractContextManager[str]]) -> None:
    """An app already serving stops seeing lanes after uninstrument()."""
    lanectx.instrument()
    with serve() as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        lanectx.uninstrument()
        assert _lane(url, {"x-lane-id": "pr-7"}) is None


def test_app_created_before_instrument_is_covered() -> None:
    """An app built before instrument() (and served after) is lane-aware too."""
    starlette, flask = starlette_app(), flask_app()
    aio = aiohttp_app()
    lanectx.instrument()
    with run_uvicorn(starlette) as a, run_wsgi(flask) as b, run_aiohttp(aio) as c:
        assert [_lane(url, {"x-lane-id": "pr-5"}) for url in (a, b, c)] == ["pr-5"] * 3


@pytest.mark.parametrize("how", ["listed", "outside"])
def test_users_lane_middleware_is_not_doubled_asgi(how: str) -> None:
    """A Starlette app with the user's own LaneMiddleware gets no second lift."""
    if how == "listed":
        app = starlette_app([Middleware(LaneMiddleware, config=NOT_LOOPBACK)])
    else:
        app = LaneMiddleware(starlette_app(), NOT_LOOPBACK)
    lanectx.instrument()
    with run_uvicorn(app) as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) is None


def test_users_lane_middleware_is_not_doubled_wsgi() -> None:
    """A Flask app whose wsgi_app the user wrapped, or the whole app, gets no second lift."""
    inner = flask_app()
    inner.wsgi_app = WSGILaneMiddleware(inner.wsgi_app, NOT_LOOPBACK)  # type: ignore[method-assign]
    outer = WSGILaneMiddleware(flask_app(), NOT_LOOPBACK)
    lanectx.instrument()
    with run_wsgi(inner) as a, run_wsgi(outer) as b:
        assert _lane(a, {"x-lane-id": "pr-7"}) is None
        assert _lane(b, {"x-lane-id": "pr-7"}) is None


def test_otel_asgi_middleware_is_left_to_the_propagator() -> None:
    """With OTel's ASGI middleware listed, instrument() adds none; the lane still arrives."""
    app = starlette_app([Middleware(OpenTelemetryMiddleware)])
    lanectx.instrument()
    with run_uvicorn(app) as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
    assert not isinstance(app.middleware_stack, LaneMiddleware)


def test_aiohttp_explicit_middleware_and_sub_app_lift_once() -> None:
    """The user's lane_middleware is not added twice; a sub-application sees the lane."""
    app = aiohttp_app([lane_middleware])
    app.add_subapp("/sub/", aiohttp_app())
    lanectx.instrument()
    with run_aiohttp(app) as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert _lane(f"{url}/sub", {"x-lane-id": "pr-8"}) == "pr-8"
    assert list(app.middlewares) == [lane_middleware]


@pytest.fixture(params=["otel-first", "otel-last"])
def otel_aiohttp(request: pytest.FixtureRequest) -> Iterator[None]:
    """OTel's aiohttp-server instrumentation, installed before or after lanectx."""
    instrumentor = AioHttpServerInstrumentor()
    if request.param == "otel-first":
        instrumentor.instrument()
    lanectx.instrument()
    if request.param == "otel-last":
        instrumentor.instrument()
    yield
    instrumentor.uninstrument()


@pytest.mark.usefixtures("otel_aiohttp")
@pytest.mark.filterwarnings(  # OTel's instrumentation subclasses web.Application
    "ignore:Inheritance class _InstrumentedApplication:DeprecationWarning"
)
def test_aiohttp_with_otel_server_instrumentation() -> None:
    """OTel's aiohttp-server middleware only parents its span; the lane is still current."""
    with run_aiohttp(aiohttp_app()) as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert _lane(url) is None


def _count_lifts(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[int]:
    """Count the calls of lanectx's own WSGI lift in *module* (still calling it)."""
    calls: list[int] = []
    real = module.lift_wsgi

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(module, "lift_wsgi", counting)
    return calls


def test_flask_instrumented_by_otel_is_left_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTel's FlaskInstrumentor on the app lanectx adds no lift; the view sees the lane."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    import lanectx.flask

    lifts = _count_lifts(monkeypatch, lanectx.flask)
    app, plain = flask_app(), flask_app()
    FlaskInstrumentor().instrument_app(app)
    try:
        lanectx.instrument()
        with run_wsgi(app) as url, run_wsgi(plain) as plain_url:
            assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
            assert lifts == []
            assert _lane(plain_url, {"x-lane-id": "pr-7"}) == "pr-7"
            assert lifts == [1]
    finally:
        FlaskInstrumentor().uninstrument_app(app)


def test_django_with_otel_middleware_is_left_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTel's Django middleware in MIDDLEWARE lanectx adds no lift; views see the lane."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    import lanectx.django

    lifts = _count_lifts(monkeypatch, lanectx.django)
    django_wsgi()  # settings first, as a project's wsgi.py has them
    DjangoInstrumentor().instrument()
    try:
        app = django_wsgi()  # its handler loads MIDDLEWARE, OTel's included
        lanectx.instrument()
        with run_wsgi(app) as url:
            assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert lifts == []
    finally:
        DjangoInstrumentor().uninstrument()


def test_fastapi_instrumented_by_otel_gets_no_second_lift() -> None:
    """With OTel's FastAPIInstrumentor on the app, lanectx adds nothing; the lane arrives."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = fastapi_app()
    FastAPIInstrumentor.instrument_app(app)
    try:
        lanectx.instrument()
        with run_uvicorn(app) as url:
            assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert not isinstance(app.middleware_stack, LaneMiddleware)
    finally:
        FastAPIInstrumentor.uninstrument_app(app)


def test_served_header_without_a_wrapper(serve: Callable[[], AbstractContextManager[str]]) -> None:
    """With a served header configured, plain and streamed responses say which version served."""
    lanectx.instrument(LaneConfig(served_header="x-lane-served"))
    with serve() as url:
        plain = httpx.get(f"{url}/lane", headers={"x-lane-id": "pr-7"}, timeout=10)
        streamed = httpx.get(f"{url}/stream", headers={"x-lane-id": "pr-7"}, timeout=10)
    assert plain.headers.get_list("x-lane-served") == ["stable"]
    assert streamed.headers.get_list("x-lane-served") == ["stable"]
    assert streamed.text == "pr-7;pr-7;pr-7;"


def test_aiohttp_middleware_works_without_instrument() -> None:
    """lane_middleware listed by hand lifts the lane with no global patching."""
    with run_aiohttp(aiohttp_app([lane_middleware])) as url:
        assert _lane(url, {"x-lane-id": "pr-7"}) == "pr-7"
        assert _lane(url, {"x-lane-id": "NOT valid"}) is None
    assert not lanectx.is_instrumented()
