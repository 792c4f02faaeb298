"""`lanectx.lane_name`: one name in stable, a lane's own name in a lane."""

from __future__ import annotations

import pytest

import lanectx


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "orders"), ({"LANE_ID": "pr-7"}, "orders-pr-7"), ({"PR_ID": "31"}, "orders-pr-31")],
)
def test_name_follows_this_process_lane(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    """Without an explicit lane the name is scoped by this process's LANE_ID / PR_ID."""
    for name in ("LANE_ID", "PR_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert lanectx.lane_name("orders") == expected


def test_separators_and_explicit_lanes() -> None:
    """An explicit lane wins; ':' suits Redis prefixes and '_' gives a plain SQL identifier."""
    assert lanectx.lane_name("cart", "pr-7", separator=":") == "cart:pr-7"
    assert lanectx.lane_name("shop", "pr-7", separator="_") == "shop_pr_7"
    assert lanectx.lane_name("orders", None) == "orders"


@pytest.mark.parametrize(("name", "lane"), [("orders", "PR 7"), ("orders", "x" * 41), ("", "pr-7")])
def test_bad_input_raises_value_error(name: str, lane: str) -> None:
    """An invalid lane or an empty name raises ValueError (InvalidLaneError for the lane)."""
    with pytest.raises(ValueError, match=r"lane|name"):
        lanectx.lane_name(name, lane)


def test_redis_keys_of_stable_and_a_lane_do_not_meet(redis_url: str) -> None:
    """With lane_name as the key prefix, a lane's Redis keys never touch stable's."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for lane, value in ((None, b"stable"), ("pr-7", b"lane")):
            client.set(f"{lanectx.lane_name('cart', lane, separator=':')}:42", value)
        assert client.get("cart:42") == b"stable"
        assert client.get("cart:pr-7:42") == b"lane"
    finally:
        client.delete("cart:42", "cart:pr-7:42")
        client.close()


def test_lane_topics_are_found_among_topic_names_by_the_lane_scoped_name() -> None:
    """Only ``<topic>-<valid lane>`` names count as lane topics, never a subscribed topic."""
    from lanectx.kafka._handover import topic_lanes

    names = ["orders", "orders-pr-7", "orders-pr-9", "orders-Bad", "orders-", "ordersx-pr-1",
             "orders-eu", "payments-pr-3", f"orders-{'a' * 41}"]  # fmt: skip
    assert topic_lanes(names, ["orders", "orders-eu"]) == {"pr-7", "pr-9"}
    assert topic_lanes(names, ["payments"]) == {"pr-3"}
    assert topic_lanes([], ["orders"]) == set()
