"""Percentage rules: a stable FNV-1a bucket per user, the measured split, across processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from lanectx.colouring import Request, bucket, fnv1a_32, parse_rules

USERS = [f"user-{number}" for number in range(10_000)]
_CHOSEN = """
import hashlib, sys
from lanectx.colouring import Request, parse_rules
rules = parse_rules({"rules": [{"match": {"percent": {"of": {"header": "x-user-id"},
                                "value": float(sys.argv[1])}}, "lane": "v1-2"}]})
chosen = [rules.colour(Request([("x-user-id", f"user-{n}")])) is not None for n in range(10_000)]
print(hashlib.sha256(bytes(chosen)).hexdigest(), sum(chosen))
"""


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)],
)
def test_fnv1a_matches_the_published_test_vectors(data: bytes, expected: int) -> None:
    """The hash is standard FNV-1a 32-bit, so other languages can reproduce it."""
    assert fnv1a_32(data) == expected
    assert bucket(data) == expected % 10_000


def _chosen(value: float) -> list[bool]:
    rules = parse_rules(
        {
            "rules": [
                {
                    "match": {"percent": {"of": {"header": "x-user-id"}, "value": value}},
                    "lane": "v1-2",
                }
            ]
        }
    )
    return [rules.colour(Request([("x-user-id", user)])) is not None for user in USERS]


@pytest.mark.parametrize("value", [1, 5, 12.5, 50])
def test_split_over_10000_users_is_within_one_point(value: float) -> None:
    """A percent rule selects the target share of 10,000 synthetic users, within ±1 point."""
    share = 100 * sum(_chosen(value)) / len(USERS)
    assert abs(share - value) <= 1.0, share


def test_same_user_gets_the_same_lane_every_time() -> None:
    """Colouring a user again gives the same answer."""
    assert _chosen(5) == _chosen(5)


def test_split_is_identical_in_another_process() -> None:
    """Another interpreter, with another hash seed, picks exactly the same users."""
    chosen = _chosen(5)
    mine = f"{hashlib.sha256(bytes(chosen)).hexdigest()} {sum(chosen)}"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    theirs = subprocess.run(
        [sys.executable, "-c", _CHOSEN, "5"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert theirs == mine


def test_seed_gives_an_independent_split() -> None:
    """Two rules with different seeds choose different users for the same percentage."""

    def users(seed: str) -> set[int]:
        rules = parse_rules(
            {
                "rules": [
                    {
                        "match": {"percent": {"of": {"cookie": "uid"}, "value": 10, "seed": seed}},
                        "lane": "v1-2",
                    }
                ]
            }
        )
        return {
            n for n in range(2000) if rules.colour(Request([("cookie", f"uid={n}")])) is not None
        }

    first, second = users("a"), users("b")
    assert 100 < len(first) < 300
    assert len(first & second) < len(first) / 2
