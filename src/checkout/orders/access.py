"""Who may come through which of the order API's doors, decided before the body is read.

Three credentials exist and none opens another's door: the service token is for the
participants, the admin token for the admin API and for listing anyone's orders, the
customer's JWT for that customer's own orders. Confirming a payment is the customer's
alone: the admin token reads any order but answers for no card holder. Without a
configured identity there are no customer tokens: placing an order, reading it and
confirming its payment by its random id stay open, and only the admin token lists
orders.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from pydantic import SecretStr

from checkout.orders.customer_tokens import CustomerTokens, IdentityUnavailable, TokenRefused


class Door(Enum):
    PLACE = "place an order"
    READ = "read an order"
    LIST = "list orders"
    CONFIRM = "confirm a payment"


@dataclass(frozen=True)
class Customer:
    id: str


@dataclass(frozen=True)
class Admin:
    pass


@dataclass(frozen=True)
class Anonymous:
    pass


Caller = Customer | Admin | Anonymous


INVALID_TOKEN = "invalid_token"
TOKEN_REQUIRED = "token_required"


class NotAdmitted(Exception):
    """A refusal at the door: ``token_required`` (this door needs another credential, or
    one at all), ``invalid_token`` (the token is no good) or ``identity_unavailable``."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message


@dataclass(frozen=True)
class Gate:
    admin_token: SecretStr
    customers: CustomerTokens | None
    """None when no identity provider is configured."""

    async def admit(self, token: str | None, door: Door) -> Caller:
        """Who sent the bearer ``token``, if they may come through ``door``; else
        :class:`NotAdmitted`. Only the admin token is compared: anything else is a
        customer's JWT or nothing."""
        caller = await self._identify(token)
        if isinstance(caller, Customer):
            return caller
        if self.customers is None:
            if isinstance(caller, Admin) or door is not Door.LIST:
                return caller
            raise _needs("Listing orders needs the admin token")
        if isinstance(caller, Admin) and door not in (Door.PLACE, Door.CONFIRM):
            return caller
        raise _needs(f"To {door.value}, send the customer's own token")

    async def _identify(self, token: str | None) -> Caller:
        if token is None:
            return Anonymous()
        if hmac.compare_digest(token.encode(), self.admin_token.get_secret_value().encode()):
            return Admin()
        if self.customers is None:
            raise _invalid("This service accepts no customer tokens: no identity is configured.")
        try:
            return Customer(await self.customers.customer_id(token))
        except TokenRefused as refused:
            raise _invalid(str(refused)) from None
        except IdentityUnavailable:
            raise NotAdmitted(
                503,
                "identity_unavailable",
                "The identity provider's keys cannot be fetched; retry in a moment.",
            ) from None


def _invalid(reason: str) -> NotAdmitted:
    return NotAdmitted(401, INVALID_TOKEN, reason)


def _needs(what: str) -> NotAdmitted:
    return NotAdmitted(401, TOKEN_REQUIRED, f"{what} as Authorization: Bearer <token>.")
