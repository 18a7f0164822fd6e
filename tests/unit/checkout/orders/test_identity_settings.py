"""The customer identity settings: all of it or none of it, and nothing weak."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from checkout.orders.identity_settings import CustomerIdentitySettings
from checkout.orders.settings import OrdersSettings
from tests.support.identity import AUDIENCE, IDENTITY, ISSUER, SECRET

TOKENS = {"service_token": "service-token", "admin_token": "admin-token"}
ISSUED_FOR_US = {"customer_jwt_issuer": ISSUER, "customer_jwt_audience": AUDIENCE}


@pytest.fixture(autouse=True)
def no_identity_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISSUER", "AUDIENCE", "SECRET", "JWKS_URL", "JWKS_FILE"):
        monkeypatch.delenv(f"CUSTOMER_JWT_{name}", raising=False)


def test_by_default_no_identity_is_configured() -> None:
    assert not OrdersSettings(**TOKENS).identity_configured


def test_empty_identity_variables_configure_no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISSUER", "AUDIENCE", "SECRET", "JWKS_URL", "JWKS_FILE"):
        monkeypatch.setenv(f"CUSTOMER_JWT_{name}", "")

    assert not OrdersSettings(**TOKENS).identity_configured


def test_the_development_identity_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("CUSTOMER_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("CUSTOMER_JWT_SECRET", SECRET)

    settings = CustomerIdentitySettings()

    assert settings.identity_configured
    assert settings.customer_jwt_secret is not None
    assert settings.customer_jwt_secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"customer_jwt_secret": SECRET}, "CUSTOMER_JWT_ISSUER and CUSTOMER_JWT_AUDIENCE"),
        ({**IDENTITY, "customer_jwt_audience": None}, "CUSTOMER_JWT_AUDIENCE"),
        ({**IDENTITY, "customer_jwt_issuer": None}, "CUSTOMER_JWT_ISSUER"),
        (ISSUED_FOR_US, "exactly one of"),
        ({**IDENTITY, "customer_jwt_jwks_file": "jwks.json"}, "exactly one of"),
        ({**IDENTITY, "customer_jwt_secret": "short"}, "at least 32 characters"),
        ({**ISSUED_FOR_US, "customer_jwt_jwks_url": "http://idp.example/jwks"}, "https"),
        ({**ISSUED_FOR_US, "customer_jwt_jwks_url": "file:///etc/jwks.json"}, "https"),
    ],
)
def test_an_incomplete_or_weak_identity_is_refused(given: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        CustomerIdentitySettings(**given)


@pytest.mark.parametrize(
    "url",
    ["https://idp.example/.well-known/jwks.json", "http://127.0.0.1:9/jwks", "http://localhost/k"],
)
def test_keys_come_over_https_or_from_this_machine(url: str) -> None:
    settings = CustomerIdentitySettings(**ISSUED_FOR_US, customer_jwt_jwks_url=url)
    assert settings.identity_configured


@pytest.mark.parametrize("token", ["service_token", "admin_token"])
def test_the_development_secret_is_never_one_of_the_bearer_tokens(token: str) -> None:
    with pytest.raises(ValidationError, match="must differ") as refused:
        OrdersSettings(**{**TOKENS, token: SECRET}, **IDENTITY)
    assert SECRET not in str(refused.value)
