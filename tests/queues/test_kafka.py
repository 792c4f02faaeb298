"""Kafka (confluent-kafka, aiokafka, kafka-python) on librdkafka's mock cluster: lane headers."""

from __future__ import annotations

import pytest

import lanectx

from .kafka_clients import CLIENTS, consume, new_topic, produce

# kafka-python now and then misses a group join against the mock cluster (docs/queues.md):
# a failed case is run again, at most twice, before it counts as failed.
pytestmark = [pytest.mark.parametrize("client", CLIENTS), pytest.mark.flaky(reruns=2)]


def test_records_carry_the_lane_and_keep_the_callers_headers(
    client: str, kafka_bootstrap: str
) -> None:
    """A record produced in a lane has one x-lane-id, one lane member, and the caller's headers."""
    lanectx.instrument()
    topic = new_topic()
    listed = [("a", b"1"), ("baggage", b"user=ann,lane=pr-1"), ("x-lane-id", b"pr-1")]
    with lanectx.use_lane("pr-7"):
        produce(client, kafka_bootstrap, topic, [(b"list", listed), (b"dict", {"a": b"2"})])
    produce(client, kafka_bootstrap, topic, [(b"reused", listed), (b"none", None)])
    assert listed == [("a", b"1"), ("baggage", b"user=ann,lane=pr-1"), ("x-lane-id", b"pr-1")]
    seen = {value: headers for value, _, headers in consume("confluent", kafka_bootstrap, topic, 4)}
    assert seen[b"list"] == [
        ("a", b"1"),
        ("baggage", b"user=ann,lane=pr-7"),
        ("x-lane-id", b"pr-7"),
    ]
    assert seen[b"dict"] == [("a", b"2"), ("baggage", b"lane=pr-7"), ("x-lane-id", b"pr-7")]
    assert seen[b"reused"] == [("a", b"1"), ("baggage", b"user=ann")]
    assert seen[b"none"] == []


def test_consumed_record_lane_is_current_until_the_next_call(
    client: str, kafka_bootstrap: str
) -> None:
    """Each consumed record's lane is current while it is in hand, and only its own."""
    topic = new_topic()
    lanectx.instrument()
    records = [(b"a", "pr-1"), (b"b", None), (b"c", "pr-2"), (b"d", "pr-2")]
    for value, lane in records:
        with lanectx.use_lane(lane):
            produce("confluent", kafka_bootstrap, topic, [(value, None)])
    seen = consume(client, kafka_bootstrap, topic, len(records))
    assert sorted((value, lane) for value, lane, _ in seen) == records


BAD_HEADERS = [
    (b"non-utf8", [("x-lane-id", b"\xff\xfepr-1")], None),
    (b"non-utf8-then-baggage", [("x-lane-id", b"\xffbad"), ("baggage", b"lane=pr-4")], "pr-4"),
    (b"invalid", [("x-lane-id", b"Not A Lane")], None),
    (b"huge-baggage", [("baggage", b"lane=pr-5," + b"a=" + b"x" * 9000)], None),
    (b"bad-baggage", [("baggage", b"\xc3\x28lane=pr-6")], None),
    (b"header-case", [("X-Lane-Id", b"pr-8")], "pr-8"),
    (b"pr-id", [("x-pr-id", b"31")], "pr-31"),
    (b"empty-name", [("", b"pr-9")], None),
    (b"none-value", [("x-lane-id", None)], None),
]


def test_bad_lane_headers_are_no_lane(client: str, kafka_bootstrap: str) -> None:
    """Invalid, non-UTF-8 or huge lane headers on a record are no lane; the consumer goes on."""
    topic = new_topic()
    records = [(value, headers) for value, headers, _ in BAD_HEADERS]
    produce("confluent", kafka_bootstrap, topic, [*records, (b"after", None)])
    lanectx.instrument()
    seen = consume(client, kafka_bootstrap, topic, len(records) + 1)
    expected = [(value, lane) for value, _, lane in BAD_HEADERS] + [(b"after", None)]
    assert sorted((value, got) for value, got, _ in seen) == sorted(expected)
