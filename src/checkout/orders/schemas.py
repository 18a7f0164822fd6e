"""The order API's bodies. Validation here is the shop's first line of defence:
a request that no real customer could send is refused before anything is stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from checkout.common.schemas import MAX_AMOUNT, Money, PlainText, ShortText

PaymentMethod = Literal["credit_card", "debit_card", "paypal", "declined_card", "card_3ds"]
OrderStatus = Literal["pending", "awaiting_confirmation", "completed", "cancelled", "failed"]
ChallengeOutcome = Literal["confirmed", "declined"]
HOLDER_CONFIRMS = frozenset({"card_3ds"})
"""Payment methods whose charge may wait for the card holder's confirmation."""
MAX_ITEMS = 100
MAX_QUANTITY = 10_000

Price = Annotated[Money, Field(le=Decimal("1000000"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderItemIn(Strict):
    product_id: ShortText
    name: ShortText
    price: Price
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)


class Address(Strict):
    street: ShortText
    city: ShortText
    state: ShortText
    postal_code: Annotated[PlainText, Field(min_length=1, max_length=20)]
    country: Annotated[PlainText, Field(min_length=2, max_length=56)]


class OrderRequest(Strict):
    customer_id: ShortText
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    shipping_address: Address
    payment_method: PaymentMethod

    @field_validator("customer_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must contain printable characters only")
        return value

    @model_validator(mode="after")
    def _total_is_payable(self) -> OrderRequest:
        if self.total() > MAX_AMOUNT:
            raise ValueError(f"the order's total must not exceed {MAX_AMOUNT}")
        return self

    def total(self) -> Decimal:
        return sum((item.price * item.quantity for item in self.items), Decimal("0.00"))


class OrderItemOut(BaseModel):
    product_id: str
    name: str
    price: Money
    quantity: int


class AttemptsOut(BaseModel):
    status: str
    attempts: int
    last_error: str | None
    started_at: datetime | None
    finished_at: datetime | None


class StepOut(BaseModel):
    name: str
    status: str
    attempts: int
    last_error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    compensation: AttemptsOut | None


class FailureOut(BaseModel):
    step: str
    code: str
    reason: str


class SagaOut(BaseModel):
    id: str
    status: str
    steps: list[StepOut]
    history: Literal["kept", "pruned"] = Field(
        default="kept",
        description=(
            "'pruned' once the finished saga's history has been deleted under the "
            "retention policy: the status and failure stay, the steps are gone"
        ),
    )


class NextActionOut(BaseModel):
    """What the customer must do for the order to go on."""

    type: Literal["confirm_payment"]
    challenge_id: str
    confirm_by: datetime = Field(
        description="When the order stops waiting: it is then cancelled and nothing is charged"
    )


class OrderOut(BaseModel):
    id: str
    customer_id: str
    status: OrderStatus
    total: Money
    payment_method: str
    items: list[OrderItemOut]
    shipping_address: Address
    created_at: datetime
    failure: FailureOut | None = Field(
        description="Why the order was cancelled (the step that failed and its reason)"
    )
    compensation_failure: FailureOut | None = Field(
        description="For a failed order: the compensation that could not finish"
    )
    next_action: NextActionOut | None = Field(
        default=None,
        description="While the order is awaiting_confirmation: what the customer must do",
    )
    saga: SagaOut


class OrderList(BaseModel):
    items: list[OrderOut]
    total: int


class ListFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: ShortText | None = None
    status: OrderStatus | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class ConfirmationRequest(Strict):
    """The customer's answer to the payment's challenge (``next_action.challenge_id``)."""

    challenge_id: uuid.UUID
    outcome: ChallengeOutcome


class PaymentEvent(Strict):
    """The payment service's notice of a card holder's answer (its webhook)."""

    event_id: uuid.UUID
    order_id: uuid.UUID
    payment_id: ShortText
    challenge_id: uuid.UUID
    outcome: ChallengeOutcome


class PaymentEventOut(BaseModel):
    order_id: str
    recorded: bool = Field(
        description="False when the order had this answer already (a notice sent twice)"
    )
