"""Customer tokens: JWTs from the identity provider, verified with PyJWT.

Which algorithms a token may use is decided here, never by the token: HS256 with the
development secret, RS256 or ES256 with a key from the provider's JWKS (each key bound
to its own algorithm, so an RSA public key can never be used as an HMAC secret). ``none``
is never accepted. A refusal says why in words of its own: PyJWT's messages may quote the
token's header, and nothing a caller sent is repeated or logged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jwt

from checkout.orders.identity_settings import CustomerIdentitySettings

SIGNED_WITH_KEYS = ("RS256", "ES256")
SIGNED_WITH_SECRET = ("HS256",)
CLOCK_SKEW = timedelta(seconds=30)
"""How far our clock and the provider's may disagree before ``exp`` or ``nbf`` refuse."""
JWKS_FETCH_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300.0
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
UNKNOWN_KEY = "The token was not signed by any of the provider's keys."


class TokenRefused(Exception):
    """The bearer token is not a valid customer token; the message says why."""


class IdentityUnavailable(Exception):
    """The provider's keys cannot be fetched, so no token can be checked right now."""


@dataclass(frozen=True)
class VerificationKey:
    key: Any
    algorithms: tuple[str, ...]


class SigningKeys(Protocol):
    async def for_token(self, token: str) -> VerificationKey: ...


@dataclass(frozen=True)
class SharedSecret:
    """Development: tokens signed with ``CUSTOMER_JWT_SECRET`` (``checkout customer-token``)."""

    secret: bytes

    async def for_token(self, token: str) -> VerificationKey:
        return VerificationKey(self.secret, SIGNED_WITH_SECRET)


class KeySet:
    """The provider's public keys from a JWKS file, read once at startup."""

    def __init__(self, jwks: jwt.PyJWKSet) -> None:
        self._keys = {
            key.key_id: key
            for key in jwks.keys
            if key.key_id and key.public_key_use in ("sig", None)
        }

    @classmethod
    def from_file(cls, path: Path) -> KeySet:
        return cls(jwt.PyJWKSet.from_json(path.read_text()))

    async def for_token(self, token: str) -> VerificationKey:
        key_id = _key_id(token)
        key = self._keys.get(key_id) if key_id is not None else None
        if key is None:
            raise TokenRefused(UNKNOWN_KEY)
        return VerificationKey(key, SIGNED_WITH_KEYS)


class KeyEndpoint:
    """The provider's public keys from its JWKS URL, cached, refetched for a new key id."""

    def __init__(self, url: str) -> None:
        # PyJWKClient refetches for an unknown key id at most once per cooldown, so
        # made-up key ids cannot turn every request into a fetch.
        self._client = jwt.PyJWKClient(
            url, timeout=JWKS_FETCH_TIMEOUT_SECONDS, lifespan=JWKS_CACHE_SECONDS
        )

    async def for_token(self, token: str) -> VerificationKey:
        key_id = _key_id(token)  # a malformed token is refused before any fetch
        if key_id is None:
            raise TokenRefused(UNKNOWN_KEY)
        try:
            # urllib blocks; a fetch must not stall every other request meanwhile.
            key = await asyncio.to_thread(self._client.get_signing_key, key_id)
        except jwt.PyJWKClientConnectionError:
            raise IdentityUnavailable from None
        except jwt.PyJWKClientError:
            raise TokenRefused(UNKNOWN_KEY) from None
        return VerificationKey(key, SIGNED_WITH_KEYS)


def _key_id(token: str) -> str | None:
    try:
        key_id = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise TokenRefused("The token is not a well-formed JWT.") from None
    return key_id if isinstance(key_id, str) else None


_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired; sign in again."),
    (jwt.ImmatureSignatureError, "The token is not valid yet."),
    (jwt.InvalidAudienceError, "The token was issued for another service (audience)."),
    (jwt.InvalidIssuerError, "The token was issued by another identity provider."),
    (jwt.MissingRequiredClaimError, "The token lacks a required claim (exp, iss, aud, sub)."),
    (jwt.InvalidAlgorithmError, "The token's signing algorithm is not accepted."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.DecodeError, "The token is not a well-formed JWT."),
)


class CustomerTokens:
    """Verifies a customer's bearer token and says which customer it names."""

    def __init__(self, *, keys: SigningKeys, issuer: str, audience: str) -> None:
        self._keys, self._issuer, self._audience = keys, issuer, audience

    async def customer_id(self, token: str) -> str:
        """The token's subject, once its signature, expiry, issuer and audience hold."""
        verification = await self._keys.for_token(token)
        try:
            claims = jwt.decode(
                token,
                verification.key,
                algorithms=list(verification.algorithms),
                issuer=self._issuer,
                audience=self._audience,
                leeway=CLOCK_SKEW,
                options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
            )
        except jwt.InvalidTokenError as refused:
            raise TokenRefused(_reason(refused)) from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip() or not subject.isprintable():
            raise TokenRefused("The token's subject is not a customer id.")
        return subject


def _reason(refused: jwt.InvalidTokenError) -> str:
    for kind, reason in _REASONS:
        if isinstance(refused, kind):
            return reason
    return "The token is not valid."


def customer_tokens(settings: CustomerIdentitySettings) -> CustomerTokens | None:
    """The verifier the settings describe; None when no identity is configured."""
    if not settings.identity_configured:
        return None
    assert settings.customer_jwt_issuer and settings.customer_jwt_audience  # validated
    keys: SigningKeys
    if settings.customer_jwt_secret is not None:
        keys = SharedSecret(settings.customer_jwt_secret.get_secret_value().encode())
    elif settings.customer_jwt_jwks_file:
        keys = KeySet.from_file(Path(settings.customer_jwt_jwks_file))
    else:
        assert settings.customer_jwt_jwks_url  # validated: exactly one key source
        keys = KeyEndpoint(settings.customer_jwt_jwks_url)
    return CustomerTokens(
        keys=keys, issuer=settings.customer_jwt_issuer, audience=settings.customer_jwt_audience
    )


def development_token(
    settings: CustomerIdentitySettings,
    customer_id: str,
    *,
    lifetime: timedelta,
    now: datetime | None = None,
) -> str:
    """A customer token signed with the development secret, as a provider would issue it."""
    if settings.customer_jwt_secret is None or not settings.identity_configured:
        raise ValueError(
            "minting needs the development identity: set CUSTOMER_JWT_SECRET, "
            "CUSTOMER_JWT_ISSUER and CUSTOMER_JWT_AUDIENCE as the order service has them"
        )
    issued = now or datetime.now(UTC)
    claims = {
        "sub": customer_id,
        "iss": settings.customer_jwt_issuer,
        "aud": settings.customer_jwt_audience,
        "iat": issued,
        "exp": issued + lifetime,
    }
    secret = settings.customer_jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm=SIGNED_WITH_SECRET[0])
