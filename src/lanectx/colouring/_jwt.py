"""The ``jwt`` matcher: a claim of the request's bearer token.

With a key (``key_file`` for RS/ES/PS/EdDSA, ``secret_env`` for HS) the token is
verified with PyJWT (``pip install 'lanectx[colouring]'``): signature, ``exp``/``nbf``
and, when given, ``audience`` and ``issuer``. An invalid token matches nothing.
**Without a key the claims are read unverified**: anyone can forge them, so use that
only behind an ingress that has already verified the token::

    match: {jwt: {claim: tier, exact: beta, key_file: /etc/jwt/public.pem}}
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._request import Request
from ._text import TEXT_OPS, Matcher, TextMatch, options_of

__all__ = ["JwtClaimMatcher", "jwt_matcher"]

logger = logging.getLogger("lanectx")

_OPTIONS = ("header", "key_file", "secret_env", "algorithms", "audience", "issuer")


@dataclass(frozen=True)
class _Verifier:
    """PyJWT decoding settings; None key: unverified."""

    key: Any = None
    algorithms: tuple[str, ...] = ()
    audience: str | None = None
    issuer: str | None = None

    def claims(self, token: str) -> dict[str, Any] | None:
        """Return the token's claims, or None when it is malformed or fails verification."""
        if self.key is None:
            return _unverified_claims(token)
        import jwt

        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
            )
        except jwt.PyJWTError as err:
            logger.debug("colouring: rejected bearer token: %s", err)
            return None
        return claims if isinstance(claims, dict) else None


def _unverified_claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _texts(value: object) -> list[str]:
    """Return the texts a claim value stands for (a list: each of its items)."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list):
        return [text for item in value if not isinstance(item, list) for text in _texts(item)]
    return []


@dataclass(frozen=True)
class JwtClaimMatcher:
    """Match when claim *claim* (dotted path) of the bearer token in *header* matches *text*."""

    claim: str
    text: TextMatch
    header: str = "authorization"
    verifier: _Verifier = field(default_factory=_Verifier)

    def __call__(self, request: Request) -> bool:
        """Return True when the token's claim matches."""
        values = request.header(self.header)
        if not values:
            return False
        token = values[0].strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        memo = (self.header, self.verifier)
        if memo not in request.cache:
            request.cache[memo] = self.verifier.claims(token)
        value: Any = request.cache[memo]
        for part in self.claim.split("."):
            if not isinstance(value, dict):
                return False
            value = value.get(part)
        return any(self.text(text) for text in _texts(value))


def _verifier(opts: dict[str, Any]) -> _Verifier:
    key_file, secret_env = opts.get("key_file"), opts.get("secret_env")
    if key_file is None and secret_env is None:
        for name in ("algorithms", "audience", "issuer"):
            if name in opts:
                raise ValueError(f"{name} needs key_file or secret_env")
        return _Verifier()
    if key_file is not None and secret_env is not None:
        raise ValueError("give key_file or secret_env, not both")
    try:
        import jwt
    except ImportError:
        raise ValueError("verifying tokens needs PyJWT: pip install 'lanectx[colouring]'") from None
    if key_file is not None:
        try:
            key: Any = Path(str(key_file)).read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"key_file {key_file!r}: {err.strerror}") from None
        default = ("RS256",)
    else:
        key = os.environ.get(str(secret_env))
        if not key:
            raise ValueError(f"secret_env {secret_env!r}: the variable is not set")
        default = ("HS256",)
    algorithms = opts.get("algorithms", list(default))
    if not isinstance(algorithms, list) or not algorithms:
        raise ValueError(f"algorithms must be a non-empty list, got {algorithms!r}")
    known = jwt.algorithms.get_default_algorithms()
    for name in algorithms:
        if name not in known or name == "none":
            raise ValueError(f"unsupported algorithm {name!r} (is cryptography installed?)")
    for name in ("audience", "issuer"):
        if name in opts and not isinstance(opts[name], str):
            raise ValueError(f"{name} must be a string")
    return _Verifier(key, tuple(algorithms), opts.get("audience"), opts.get("issuer"))


def jwt_matcher(options: Any) -> Matcher:
    """Build a `JwtClaimMatcher` from rules-file options (see the module docstring)."""
    opts = options_of(options, ("claim",), (*_OPTIONS, *TEXT_OPS))
    claim = opts["claim"]
    if not isinstance(claim, str) or not claim or "" in claim.split("."):
        raise ValueError(f"claim must be a claim name or dotted path, got {claim!r}")
    header = opts.get("header", "authorization")
    if not isinstance(header, str) or not header:
        raise ValueError(f"header must be a header name, got {header!r}")
    verifier = _verifier(opts)
    if verifier.key is None:
        logger.warning(
            "colouring: jwt claim %r is read WITHOUT verifying the token; use this only "
            "behind an ingress that verifies it (set key_file or secret_env otherwise)",
            claim,
        )
    return JwtClaimMatcher(claim, TextMatch.parse(opts), header.lower(), verifier)
