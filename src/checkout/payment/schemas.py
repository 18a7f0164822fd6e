"""The payment API's request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from checkout.common.schemas import Money, OrderId, ShortText


class ChargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    customer_id: ShortText
    amount: Money
    payment_method: Literal["credit_card", "debit_card", "paypal", "declined_card"]


class PaymentOut(BaseModel):
    id: str
    order_id: str
    amount: Money
    status: Literal["captured", "refunded"]


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    amount: Money


class RefundOut(BaseModel):
    order_id: str
    status: Literal["refunded", "nothing_to_refund"]
    amount: Money | None = None


class PaymentList(BaseModel):
    items: list[PaymentOut]
