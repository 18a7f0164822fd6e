"""Customer tokens for tests: the development identity, an RSA provider, and hostile tokens.

Tokens are minted with PyJWT, as a provider would; the hostile ones are what an attacker
can make without the provider's keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://identity.example.test/"
AUDIENCE = "checkout-orders"
SECRET = "development-secret-for-tests-only-0123456789"
IDENTITY = {
    "customer_jwt_issuer": ISSUER,
    "customer_jwt_audience": AUDIENCE,
    "customer_jwt_secret": SECRET,
}
"""Order service settings for the development identity (HS256)."""


OMIT: Any = object()
"""A claim's value that leaves the claim out: ``customer_token("a", exp=OMIT)``."""


def claims(subject: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    default = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now}
    every = {**default, "exp": now + timedelta(hours=1), **changes}
    return {name: value for name, value in every.items() if value is not OMIT}


def customer_token(subject: str, *, secret: str = SECRET, **changes: Any) -> str:
    """A valid development token for ``subject``, or one with ``changes`` to its claims."""
    return jwt.encode(claims(subject, **changes), secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, default=lambda time: int(time.timestamp())).encode())


def hand_made_token(header: dict[str, Any], subject: str, hmac_key: bytes | None) -> str:
    """A token PyJWT would refuse to make: any header, HMAC-signed with any bytes (or
    unsigned when ``hmac_key`` is None)."""
    signing_input = f"{_b64_json(header)}.{_b64_json(claims(subject))}"
    if hmac_key is None:
        return f"{signing_input}."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned_token(subject: str, alg: str = "none") -> str:
    """``alg: none``: a token that claims it needs no signature."""
    return hand_made_token({"alg": alg, "typ": "JWT"}, subject, None)


def tampered_token(subject: str, *, signed_for: str) -> str:
    """A genuine token for ``signed_for`` whose payload was rewritten to name ``subject``."""
    header, _, signature = customer_token(signed_for).split(".")
    return f"{header}.{_b64_json(claims(subject))}.{signature}"


HOSTILE_TOKENS: dict[str, Callable[[str], str]] = {
    "forged": lambda who: customer_token(who, secret="an-attackers-own-secret-0123456789abcdef"),
    "expired": lambda who: customer_token(who, exp=datetime.now(UTC) - timedelta(hours=1)),
    "not-yet-valid": lambda who: customer_token(who, nbf=datetime.now(UTC) + timedelta(hours=1)),
    "wrongly-signed": lambda who: tampered_token(who, signed_for="mallory"),
    "alg-none": unsigned_token,
    "alg-None": lambda who: unsigned_token(who, alg="None"),
    "wrong-audience": lambda who: customer_token(who, aud="another-service"),
    "wrong-issuer": lambda who: customer_token(who, iss="https://evil.example.test/"),
    "no-expiry": lambda who: customer_token(who, exp=OMIT),
    "no-audience": lambda who: customer_token(who, aud=OMIT),
    "no-subject": lambda who: customer_token(who, sub=OMIT),
    "empty-subject": lambda who: customer_token(""),
    "control-character-subject": lambda who: customer_token(f"{who}\x00"),
    "malformed": lambda who: f"{who}.not.a-jwt",
    "garbage": lambda who: "x" * 5000,
}
"""Tokens an attacker can make for the customer ``who``; each must be refused with 401."""


@dataclass(frozen=True)
class Provider:
    """An identity provider with its own signing key, published as a JWKS."""

    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str
    key_id: str

    def jwks(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        public: dict[str, Any] = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": self.algorithm}]}

    def token(self, subject: str, *, key_id: str | None = None, **changes: Any) -> str:
        return jwt.encode(
            claims(subject, **changes),
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": key_id or self.key_id},
        )

    def confused_token(self, subject: str) -> str:
        """The classic attack: HS256 "signed" with the public key the JWKS publishes."""
        public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key_id}
        return hand_made_token(header, subject, public_pem)


@cache
def rsa_provider() -> Provider:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Provider(key, "RS256", "rsa-key-1")


@cache
def ec_provider() -> Provider:
    return Provider(ec.generate_private_key(ec.SECP256R1()), "ES256", "ec-key-1")
