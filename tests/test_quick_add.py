"""Each client's quick way to add the lane headers sends what the general path sends.

`prepare_request` leaves the common case (a lane, maybe the members the request
brought, and a request with no lane or ``baggage`` header of its own) to the
client's own quicker way to add headers. Whatever the request and context hold,
the headers that go out, and the context to send in, must be the same as without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from opentelemetry import baggage, context
from urllib3 import HTTPHeaderDict

import lanectx.httpx
import lanectx.requests
from lanectx import LaneConfig
from lanectx._grpc_client import _MetadataHeaders
from lanectx._headers import HeaderView
from lanectx._outbound import Add, add_new, prepare_request
from lanectx._server import request_context

CONFIG = LaneConfig()
NAMES = ["x-lane-id", "X-Lane-Id", "baggage", "Baggage", "x-pr-id", "user-agent", "Accept"]
VALUES = st.sampled_from(["pr-1", "lane=pr-2", "a=1,lane=pr-3", "b=2", "*/*", "x"])
HEADERS = st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=4)
CONTEXTS = st.tuples(
    st.sampled_from([None, "pr-7", "pr-8"]),  # the lane
    st.sampled_from([None, "a=1,b=2", "lane=pr-9,c=3", "d=%41;p=1"]),  # what arrived
    st.sampled_from([None, ("a", "changed"), ("e", "5")]),  # set in process
)


def _view(source: Any) -> tuple[Any, Callable[[], list[tuple[str, str]]]]:
    view = HeaderView(source)
    return view, lambda: _items(view.changed if view.changed is not None else source)


def _items(headers: Any) -> list[tuple[str, str]]:
    pairs = headers.multi_items() if hasattr(headers, "multi_items") else headers.items()
    return sorted((name.lower(), value) for name, value in pairs)


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs a dict can hold: the first of each name in any case."""
    seen: dict[str, tuple[str, str]] = {}
    for name, value in pairs:
        seen.setdefault(name.lower(), (name, value))
    return list(seen.values())


def _httpx(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    headers = httpx.Headers(pairs)
    return headers, lambda: _items(headers), lanectx.httpx._ADD


def _requests(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    headers = requests.structures.CaseInsensitiveDict(dict(_unique(pairs)))
    return headers, lambda: _items(headers), lanectx.requests._adder(headers)


def _dict_view(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    return (*_view(dict(_unique(pairs))), HeaderView.add_new)


def _urllib3_view(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    return (*_view(HTTPHeaderDict(pairs)), HeaderView.add_new)


def _aiohttp(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    headers: CIMultiDict[str] = CIMultiDict(pairs)
    return headers, lambda: _items(headers), add_new


def _grpc(pairs: list[tuple[str, str]]) -> tuple[Any, Any, Add | None]:
    headers = _MetadataHeaders([(name.lower(), value) for name, value in pairs])
    return headers, lambda: sorted(headers.pairs), _MetadataHeaders.add_new


KINDS = {
    "httpx": _httpx,
    "requests": _requests,
    "dict view": _dict_view,
    "HTTPHeaderDict view": _urllib3_view,
    "aiohttp": _aiohttp,
    "grpc metadata": _grpc,
}


def _sent(
    kind: str, pairs: list[tuple[str, str]], state: tuple[Any, ...], quick: bool
) -> tuple[list[tuple[str, str]], Any]:
    lane, arrived, own = state
    ctx = request_context(CONFIG, lane, True, [arrived] if arrived else None) or context.Context()
    if own is not None:
        ctx = baggage.set_baggage(*own, context=ctx)
    headers, read, add = KINDS[kind](pairs)
    token = context.attach(ctx)
    try:
        sent_in = prepare_request(CONFIG, "reviews", headers, add if quick else None)
    finally:
        context.detach(token)
    return read(), None if sent_in is None else dict(baggage.get_all(sent_in))


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=150, deadline=None)
@given(pairs=HEADERS, state=CONTEXTS)
def test_the_quick_add_sends_what_the_general_path_sends(
    kind: str, pairs: list[tuple[str, str]], state: tuple[Any, ...]
) -> None:
    """Same headers out, same baggage to send in, with or without the client's quick add."""
    assert _sent(kind, pairs, state, quick=True) == _sent(kind, pairs, state, quick=False)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_quick_add_is_taken_for_a_lane_alone(kind: str) -> None:
    """A request of its own headers only, with a lane current: the quick add adds both."""
    headers, read, add = KINDS[kind]([("user-agent", "x")])
    assert add is not None, "this client's quick add is not in use"
    calls: list[bool] = []

    def counted(target: Any, added: Any) -> bool:
        calls.append(add(target, added))
        return calls[-1]

    with lanectx.use_lane("pr-7"):
        assert prepare_request(CONFIG, "reviews", headers, counted) is None
    assert calls == [True]
    assert read() == [("baggage", "lane=pr-7"), ("user-agent", "x"), ("x-lane-id", "pr-7")]


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_quick_add_leaves_a_request_with_its_own_lane_header(kind: str) -> None:
    """A request that sets the lane header itself, in any case, is merged by the general path."""
    headers, read, add = KINDS[kind]([("X-Lane-Id", "pr-1"), ("BAGGAGE", "a=1")])
    assert add is not None
    with lanectx.use_lane("pr-7"):
        prepare_request(CONFIG, "reviews", headers, add)
    assert read() == [("baggage", "a=1,lane=pr-7"), ("x-lane-id", "pr-7")]


class _OtherHeaders:
    """Headers of some other layout than the one the quick adds are written for."""

    def __init__(self, items: dict[str, str]) -> None:
        self.items = items


def test_other_header_layouts_fall_back_to_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and requests headers are probed once; another layout is never written into."""
    assert lanectx.httpx._raw_list_usable()
    assert lanectx.requests._store_usable()
    monkeypatch.setattr(httpx, "Headers", _OtherHeaders)
    monkeypatch.setattr(requests.structures, "CaseInsensitiveDict", _OtherHeaders)
    assert not lanectx.httpx._raw_list_usable()
    assert not lanectx.requests._store_usable()
