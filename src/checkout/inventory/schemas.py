"""The inventory API's request and response bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from checkout.common.schemas import OrderId, ShortText
from checkout.inventory.domain import MAX_STOCK

Quantity = Annotated[int, Field(strict=True, ge=1, le=10_000)]
StockLevel = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ShortText
    quantity: Quantity


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    lines: list[LineIn] = Field(min_length=1, max_length=100)


class LineOut(BaseModel):
    product_id: str
    quantity: int


class ReservationOut(BaseModel):
    id: str
    order_id: str
    status: Literal["reserved", "released"]
    lines: list[LineOut]


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId


class ReleaseOut(BaseModel):
    order_id: str
    status: Literal["released", "nothing_to_release"]


class ReservationList(BaseModel):
    items: list[ReservationOut]


class ProductOut(BaseModel):
    product_id: str
    available: int


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: StockLevel


class RestockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_STOCK)]
