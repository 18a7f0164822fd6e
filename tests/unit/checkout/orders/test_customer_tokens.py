"""Customer tokens: what PyJWT is asked to check, and what it must refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from checkout.orders.customer_tokens import (
    SIGNED_WITH_KEYS,
    CustomerTokens,
    KeySet,
    SharedSecret,
    TokenRefused,
    customer_tokens,
    development_token,
)
from checkout.orders.identity_settings import CustomerIdentitySettings
from tests.support.identity import (
    AUDIENCE,
    HOSTILE_TOKENS,
    IDENTITY,
    ISSUER,
    SECRET,
    Provider,
    customer_token,
    ec_provider,
    rsa_provider,
)


def secret_tokens() -> CustomerTokens:
    return CustomerTokens(keys=SharedSecret(SECRET.encode()), issuer=ISSUER, audience=AUDIENCE)


def key_set_tokens(*providers: Provider) -> CustomerTokens:
    keys = [key for provider in providers for key in provider.jwks()["keys"]]
    jwks = jwt.PyJWKSet.from_dict({"keys": keys})
    return CustomerTokens(keys=KeySet(jwks), issuer=ISSUER, audience=AUDIENCE)


async def test_a_development_token_names_its_customer() -> None:
    assert await secret_tokens().customer_id(customer_token("alice")) == "alice"


@pytest.mark.parametrize("kind", sorted(HOSTILE_TOKENS))
async def test_a_hostile_token_is_refused(kind: str) -> None:
    with pytest.raises(TokenRefused):
        await secret_tokens().customer_id(HOSTILE_TOKENS[kind]("alice"))


@pytest.mark.parametrize("kind", sorted(HOSTILE_TOKENS))
async def test_a_refusal_never_repeats_the_token(kind: str) -> None:
    token = HOSTILE_TOKENS[kind]("alice")
    with pytest.raises(TokenRefused) as refused:
        await secret_tokens().customer_id(token)
    reason = str(refused.value)
    assert reason.isascii() and '"' not in reason and "\\" not in reason  # an RFC 6750 description
    assert all(part not in reason for part in token.split(".") if len(part) > 3)


async def test_an_expired_token_is_refused_saying_so() -> None:
    expired = customer_token("alice", exp=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(TokenRefused, match="expired"):
        await secret_tokens().customer_id(expired)


async def test_a_clock_a_few_seconds_ahead_at_the_provider_is_tolerated() -> None:
    just_expired = customer_token("alice", exp=datetime.now(UTC) - timedelta(seconds=5))
    assert await secret_tokens().customer_id(just_expired) == "alice"


@pytest.mark.parametrize("provider", [rsa_provider, ec_provider], ids=["RS256", "ES256"])
async def test_a_token_signed_by_a_key_in_the_jwks_names_its_customer(
    provider: type[Provider],
) -> None:
    signer = provider()
    assert await key_set_tokens(signer).customer_id(signer.token("alice")) == "alice"


async def test_a_token_naming_a_key_not_in_the_jwks_is_refused() -> None:
    signer = rsa_provider()
    with pytest.raises(TokenRefused, match="keys"):
        await key_set_tokens(signer).customer_id(signer.token("alice", key_id="unknown"))


async def test_the_rsa_public_key_is_never_an_hmac_secret() -> None:
    signer = rsa_provider()
    with pytest.raises(TokenRefused):
        await key_set_tokens(signer).customer_id(signer.confused_token("alice"))


async def test_a_development_token_is_refused_where_the_provider_signs_with_keys() -> None:
    signer = rsa_provider()
    with pytest.raises(TokenRefused):
        await key_set_tokens(signer).customer_id(customer_token("alice"))


async def test_a_key_set_token_is_refused_where_the_development_secret_is_expected() -> None:
    with pytest.raises(TokenRefused):
        await secret_tokens().customer_id(rsa_provider().token("alice"))


async def test_the_jwks_file_is_read_from_the_settings(tmp_path: Path) -> None:
    signer = ec_provider()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(signer.jwks()))
    settings = CustomerIdentitySettings(
        customer_jwt_issuer=ISSUER, customer_jwt_audience=AUDIENCE, customer_jwt_jwks_file=str(path)
    )

    tokens = customer_tokens(settings)

    assert tokens is not None
    assert await tokens.customer_id(signer.token("bob")) == "bob"


def test_without_identity_settings_there_is_no_verifier() -> None:
    assert customer_tokens(CustomerIdentitySettings()) is None


async def test_a_minted_development_token_is_accepted_by_the_verifier() -> None:
    settings = CustomerIdentitySettings(**IDENTITY)

    token = development_token(settings, "cust123", lifetime=timedelta(minutes=5))

    assert await secret_tokens().customer_id(token) == "cust123"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_minting_needs_the_development_secret() -> None:
    with pytest.raises(ValueError, match="CUSTOMER_JWT_SECRET"):
        development_token(CustomerIdentitySettings(), "cust123", lifetime=timedelta(minutes=5))


def test_keys_are_only_ever_asymmetric() -> None:
    assert "none" not in SIGNED_WITH_KEYS and not any(a.startswith("HS") for a in SIGNED_WITH_KEYS)
