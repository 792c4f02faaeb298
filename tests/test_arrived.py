"""The request's members read in one pass agree with a member-by-member reading."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import baggage as otel_baggage
from opentelemetry import context

from lanectx import LaneConfig
from lanectx._arrived import members, request_members
from lanectx._baggage import capped
from lanectx._outbound import prepare_request
from lanectx._server import request_context

CONFIG = LaneConfig()

_KEY = re.compile(r"[!#-'*+\-.0-9A-Z^-z|~]+")
_VALUE = r"[!#-+\--:<-\[\]-~]*"
_PROPERTY = rf"[ \t]*{_KEY.pattern}[ \t]*(?:=[ \t]*{_VALUE}[ \t]*)?"
_WITH_PROPERTIES = re.compile(rf"{_VALUE}(?:[ \t]*(?:;{_PROPERTY})+)?")


def _one_by_one(text: str, skip: str) -> dict[str, str]:
    """Each member split, checked and decoded on its own, as OpenTelemetry does."""
    found: dict[str, str] = {}
    for part in capped((text,)).split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if sep and _KEY.fullmatch(name) and _WITH_PROPERTIES.fullmatch(value):
            name = unquote_plus(name).strip()
            if name and name != skip:
                found[name] = unquote_plus(value).strip()
    return found


pieces = st.sampled_from(
    ["a", "lane", "%6Cane", "%", "%4", "%41", "%2C", "%0A", "%C3", "%A9", "%FF", "+", "=",
     ";", ";p", ";p=1", " ", "\t", ",", "k", "é", '"', "\\", "x=y", "%3D", "%3d", "%25", "%5C",
     "_", "%20", "%E2%82"]
)  # fmt: skip
lists = st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=4000, deadline=None)
@given(lists)
def test_one_pass_reads_what_member_by_member_reads(text: str) -> None:
    """Names, values and properties come out as a member-by-member OTel-style reading."""
    assert members([text], "lane") == _one_by_one(text, "lane")


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(pieces, lists), min_size=1, max_size=30))
def test_members_leave_as_they_arrived(pairs: list[tuple[str, str]]) -> None:
    """The list passed on holds each kept member as it arrived (outer whitespace aside)."""
    text = ",".join(f"{name}={value}" for name, value in pairs)
    arrived = request_members(text, "lane")
    assert _one_by_one(arrived.sent, "lane") == dict(arrived.decoded)
    sent = {part.strip(" \t") for part in arrived.sent.split(",")} if arrived.sent else set()
    assert sent <= {part.strip(" \t") for part in text.split(",")}


def test_whitespace_runs_are_read_in_linear_time() -> None:
    """Long whitespace runs in members that are not baggage give no member and no hang."""
    text = ",".join(["k=" + " " * 2000 + '"', "a=1;p" + "\t" * 2000 + "!", "b = 2"])
    assert members([text], "lane") == {"b": "2"}


def _sent(text: str, set_in_process: dict[str, str], own: str | None = None) -> dict[str, str]:
    """The baggage one outgoing call sends, decoded, for a request that brought *text*."""
    ctx = request_context(CONFIG, "pr-7", True, [text]) or context.get_current()
    for name, value in set_in_process.items():
        ctx = otel_baggage.set_baggage(name, value, ctx)
    headers = {} if own is None else {"baggage": own}
    token = context.attach(ctx)
    try:
        prepare_request(CONFIG, "reviews", headers)
    finally:
        context.detach(token)
    return {
        unquote_plus(name).strip(): unquote_plus(value).strip()
        for name, _, value in (part.partition("=") for part in headers["baggage"].split(","))
    }


def test_members_set_in_process_win_over_those_that_arrived() -> None:
    """An outgoing call sends the arrived members, the app's changes to them and its own."""
    sent = _sent("a=%41,b=2;p=1,c=%43", {"a": "new value", "d": "4"})
    assert sent == {"a": "new value", "b": "2;p=1", "c": "C", "d": "4", "lane": "pr-7"}


def test_members_the_call_sets_itself_win_over_those_that_arrived() -> None:
    """A member in the outgoing request's own baggage header is not sent a second time."""
    sent = _sent("a=%41,b=2", {}, own="b=mine")
    assert sent == {"a": "A", "b": "mine", "lane": "pr-7"}
