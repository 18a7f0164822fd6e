"""Who comes through which door of the order API, with and without a customer identity."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from checkout.orders.access import Admin, Anonymous, Customer, Door, Gate, NotAdmitted
from checkout.orders.customer_tokens import CustomerTokens, SharedSecret
from tests.support.identity import AUDIENCE, ISSUER, SECRET, customer_token

ADMIN_TOKEN = "admin-token"
VERIFIER = CustomerTokens(keys=SharedSecret(SECRET.encode()), issuer=ISSUER, audience=AUDIENCE)
OPEN = Gate(admin_token=SecretStr(ADMIN_TOKEN), customers=None)
WITH_IDENTITY = Gate(admin_token=SecretStr(ADMIN_TOKEN), customers=VERIFIER)
TOKENS = {"none": None, "admin": ADMIN_TOKEN, "customer": customer_token("alice")}

# (gate, door, token) -> who comes in, or the refusal's code
EXPECTED = {
    (OPEN, Door.PLACE, "none"): Anonymous(),
    (OPEN, Door.READ, "none"): Anonymous(),
    (OPEN, Door.LIST, "none"): "token_required",
    (OPEN, Door.PLACE, "admin"): Admin(),
    (OPEN, Door.READ, "admin"): Admin(),
    (OPEN, Door.LIST, "admin"): Admin(),
    (OPEN, Door.PLACE, "customer"): "invalid_token",
    (OPEN, Door.READ, "customer"): "invalid_token",
    (OPEN, Door.LIST, "customer"): "invalid_token",
    (WITH_IDENTITY, Door.PLACE, "none"): "token_required",
    (WITH_IDENTITY, Door.READ, "none"): "token_required",
    (WITH_IDENTITY, Door.LIST, "none"): "token_required",
    (WITH_IDENTITY, Door.PLACE, "admin"): "token_required",
    (WITH_IDENTITY, Door.READ, "admin"): Admin(),
    (WITH_IDENTITY, Door.LIST, "admin"): Admin(),
    (WITH_IDENTITY, Door.PLACE, "customer"): Customer("alice"),
    (WITH_IDENTITY, Door.READ, "customer"): Customer("alice"),
    (WITH_IDENTITY, Door.LIST, "customer"): Customer("alice"),
}


@pytest.mark.parametrize(
    ("gate", "door", "token", "expected"),
    [
        pytest.param(
            gate,
            door,
            token,
            expected,
            id=f"{'identity' if gate.customers else 'open'}-{door.name}-{token}",
        )
        for (gate, door, token), expected in EXPECTED.items()
    ],
)
async def test_the_door_admits_whom_it_should(
    gate: Gate, door: Door, token: str, expected: object
) -> None:
    if isinstance(expected, str):
        with pytest.raises(NotAdmitted) as refused:
            await gate.admit(TOKENS[token], door)
        assert (refused.value.status_code, refused.value.code) == (401, expected)
    else:
        assert await gate.admit(TOKENS[token], door) == expected
