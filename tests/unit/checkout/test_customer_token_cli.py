"""``checkout customer-token``: a development token the order service accepts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from checkout.cli import app
from checkout.orders.customer_tokens import CustomerTokens, SharedSecret
from tests.support.identity import AUDIENCE, ISSUER, SECRET


def mint(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["customer-token", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def development_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("CUSTOMER_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("CUSTOMER_JWT_SECRET", SECRET)
    monkeypatch.delenv("CUSTOMER_JWT_JWKS_URL", raising=False)
    monkeypatch.delenv("CUSTOMER_JWT_JWKS_FILE", raising=False)


@pytest.mark.usefixtures("development_identity")
async def test_prints_a_token_the_order_service_accepts_for_that_customer() -> None:
    code, printed, _ = mint("cust123", "--minutes", "5")
    verifier = CustomerTokens(keys=SharedSecret(SECRET.encode()), issuer=ISSUER, audience=AUDIENCE)

    assert code == 0
    assert await verifier.customer_id(printed.strip()) == "cust123"
    assert printed.count("\n") == 1  # nothing but the token, for TOKEN=$(...)


def test_without_the_development_identity_it_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ISSUER", "AUDIENCE", "SECRET", "JWKS_URL", "JWKS_FILE"):
        monkeypatch.delenv(f"CUSTOMER_JWT_{name}", raising=False)

    code, printed, complaint = mint("cust123")

    assert code == 2
    assert printed == ""
    assert "CUSTOMER_JWT_SECRET" in complaint


@pytest.mark.usefixtures("development_identity")
def test_a_weak_development_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_JWT_SECRET", "short")

    code, printed, complaint = mint("cust123")

    assert (code, printed) == (2, "")
    assert "at least 32 characters" in complaint and "short" not in complaint.split(":", 1)[1]
