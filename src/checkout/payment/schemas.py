"""The payment API's request and response bodies."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from checkout.common.schemas import Money, OrderId, ShortText

PaymentMethod = Literal["credit_card", "debit_card", "paypal", "declined_card", "card_3ds"]
PaymentStatus = Literal["captured", "refunded", "requires_confirmation", "declined", "voided"]
ChallengeOutcome = Literal["confirmed", "declined"]


class ChargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    customer_id: ShortText
    amount: Money
    payment_method: PaymentMethod


class ChallengeOut(BaseModel):
    """What the card holder must answer before the money is taken."""

    id: str
    kind: Literal["3ds"] = "3ds"


class PaymentOut(BaseModel):
    id: str
    order_id: str
    amount: Money
    status: PaymentStatus
    challenge: ChallengeOut | None = None
    """Only while, or since, the payment waits for its holder's confirmation."""


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    amount: Money


class RefundOut(BaseModel):
    order_id: str
    status: Literal["refunded", "voided", "nothing_to_refund"]
    amount: Money | None = None


class PaymentList(BaseModel):
    items: list[PaymentOut]


class ConfirmationRequest(BaseModel):
    """The card holder's answer to a challenge, as the order service relays it."""

    model_config = ConfigDict(extra="forbid")

    challenge_id: uuid.UUID
    outcome: ChallengeOutcome


class ConfirmationOut(BaseModel):
    payment_id: str
    order_id: str
    challenge_id: str
    outcome: ChallengeOutcome
    """The holder's first answer, which stands."""
    status: PaymentStatus
    """The payment now: ``captured`` once confirmed (``refunded`` if the order was
    cancelled since), ``declined``."""
