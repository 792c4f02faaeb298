"""JWT claim matcher: unverified reading, and verification with a configured key."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

jwt = pytest.importorskip("jwt")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")

from lanectx.colouring import Request, RulesError, parse_rules  # noqa: E402


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any]:
    """An RSA private key, its public key as a PEM file, and a second (wrong) private key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("jwt") / "public.pem"
    path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, path, other


def _rules(**jwt_options: Any) -> Any:
    options = {"claim": "tier", "exact": "beta", **jwt_options}
    return parse_rules({"rules": [{"name": "beta", "match": {"jwt": options}, "lane": "pr-3"}]})


def _coloured(rules: Any, token: str, header: str = "authorization") -> bool:
    value = f"Bearer {token}" if header == "authorization" else token
    return rules.colour(Request([(header, value)])) is not None


CLAIMS = [
    ({"tier": "beta"}, True),
    ({"tier": "gold"}, False),
    ({"tier": ["gold", "beta"]}, True),
    ({"other": "beta"}, False),
]


@pytest.mark.parametrize(("claims", "expected"), CLAIMS)
def test_unverified_claims_are_read(claims: dict[str, Any], expected: bool) -> None:
    """Without a key the claim is read from the token as it is (string or list)."""
    token = jwt.encode(claims, "any-secret-of-sufficient-length-32b", algorithm="HS256")
    assert _coloured(_rules(), token) is expected


def test_unverified_reading_is_announced_loudly(caplog: pytest.LogCaptureFixture) -> None:
    """Loading an unverified jwt rule logs a warning that says the token is not verified."""
    with caplog.at_level(logging.WARNING, logger="lanectx"):
        _rules()
    assert "WITHOUT verifying" in caplog.text


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.!!!.c", "a.WzFd.c"])
def test_malformed_tokens_match_nothing(token: str) -> None:
    """A malformed token (or a payload that is not an object) is data: no match, no error."""
    assert _coloured(_rules(), token) is False


def test_nested_claim_path_and_custom_header() -> None:
    """A dotted claim path reads nested claims; the token may come from another header."""
    token = jwt.encode({"org": {"team": "qa"}}, "s" * 32, algorithm="HS256")
    rules = parse_rules(
        {
            "rules": [
                {
                    "match": {"jwt": {"claim": "org.team", "exact": "qa", "header": "x-token"}},
                    "lane": "pr-3",
                }
            ]
        }
    )
    assert _coloured(rules, token, header="x-token")


def test_rs256_verified_with_the_public_key(keys: tuple[Any, Path, Any]) -> None:
    """With key_file, a token signed by the key matches; a forged or expired one does not."""
    private, path, other = keys
    rules = _rules(key_file=str(path))
    good = jwt.encode({"tier": "beta"}, private, algorithm="RS256")
    forged = jwt.encode({"tier": "beta"}, other, algorithm="RS256")
    expired = jwt.encode({"tier": "beta", "exp": int(time.time()) - 60}, private, algorithm="RS256")
    unsigned = jwt.encode({"tier": "beta"}, None, algorithm="none")
    assert _coloured(rules, good)
    assert not _coloured(rules, forged)
    assert not _coloured(rules, expired)
    assert not _coloured(rules, unsigned)


def test_audience_and_issuer_are_checked(keys: tuple[Any, Path, Any]) -> None:
    """With audience and issuer configured, tokens for others do not match."""
    private, path, _ = keys
    rules = _rules(key_file=str(path), audience="shop", issuer="https://id.example")
    claims = {"tier": "beta", "aud": "shop", "iss": "https://id.example"}
    assert _coloured(rules, jwt.encode(claims, private, algorithm="RS256"))
    wrong = {**claims, "aud": "bank"}
    assert not _coloured(rules, jwt.encode(wrong, private, algorithm="RS256"))


def test_hs256_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """With secret_env, HS256 tokens are verified with the variable's secret."""
    secret = "a-shared-secret-of-at-least-32-bytes!"
    monkeypatch.setenv("TEST_JWT_SECRET", secret)
    rules = _rules(secret_env="TEST_JWT_SECRET")
    assert _coloured(rules, jwt.encode({"tier": "beta"}, secret, algorithm="HS256"))
    assert not _coloured(rules, jwt.encode({"tier": "beta"}, "x" * 40, algorithm="HS256"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret_env": "LANECTX_TEST_UNSET_SECRET"}, "the variable is not set"),
        ({"key_file": "k.pem", "secret_env": "X"}, "give key_file or secret_env, not both"),
        ({"secret_env": "HOME", "algorithms": ["none"]}, "unsupported algorithm 'none'"),
        ({"secret_env": "HOME", "algorithms": "HS256"}, "algorithms must be a non-empty list"),
        ({"claim": ""}, "claim must be a claim name or dotted path"),
    ],
)
def test_bad_jwt_options_are_one_line_errors(options: dict[str, Any], message: str) -> None:
    """Bad jwt options are refused when the rules are loaded."""
    with pytest.raises(RulesError, match=r"rule 1 \(beta\): jwt: ") as info:
        _rules(**options)
    assert message in str(info.value)
