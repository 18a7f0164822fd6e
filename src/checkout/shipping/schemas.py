"""The shipping API's request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from checkout.common.schemas import OrderId, ShortText


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: ShortText
    city: ShortText
    state: ShortText
    postal_code: ShortText
    country: ShortText


class ShipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    address: AddressIn


class ShipmentOut(BaseModel):
    id: str
    order_id: str
    status: Literal["created", "cancelled"]


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId


class CancelOut(BaseModel):
    order_id: str
    status: Literal["cancelled", "nothing_to_cancel"]


class ShipmentList(BaseModel):
    items: list[ShipmentOut]
