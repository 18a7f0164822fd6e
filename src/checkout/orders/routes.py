"""Order HTTP routes: parse, call the service, shape the answer."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from checkout.common.auth import is_authorized
from checkout.common.errors import BusinessError, key_reused
from checkout.common.responses import BODY, QUERY, refusals
from checkout.orders.schemas import ListFilters, OrderList, OrderOut, OrderRequest
from checkout.orders.service import (
    IdempotencyConflict,
    OrderInProgress,
    OrderNotFound,
    OrderService,
)

router = APIRouter(prefix="/orders", tags=["orders"])

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*\"?(\d{1,6})\"?", re.IGNORECASE)


def get_service(request: Request) -> OrderService:
    service: OrderService = request.app.state.orders
    return service


ServiceDep = Annotated[OrderService, Depends(get_service)]
PreferHeader = Annotated[str | None, Header(alias="Prefer", max_length=200)]
IdempotencyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


def wait_seconds(request: Request, prefer: str | None) -> float:
    """The client's ``Prefer: wait=N`` (RFC 7240), capped by the service's maximum."""
    match = _WAIT.search(prefer or "")
    if match is None:
        return 0.0
    cap: float = request.app.state.settings.max_wait_seconds
    return min(float(match.group(1)), cap)


@router.post("", status_code=201, response_model=OrderOut, responses={**BODY, **refusals(409)})
async def place_order(
    body: OrderRequest,
    request: Request,
    response: Response,
    orders: ServiceDep,
    prefer: PreferHeader = None,
    idempotency_key: IdempotencyHeader = None,
) -> OrderOut:
    try:
        placed = await orders.place(
            body, idempotency_key=idempotency_key, wait_seconds=wait_seconds(request, prefer)
        )
    except IdempotencyConflict:
        raise key_reused() from None
    except OrderInProgress:
        raise BusinessError(
            409,
            "order_in_progress",
            "An order with this Idempotency-Key is being created; retry in a moment to get it.",
        ) from None
    response.headers["Location"] = f"/orders/{placed.order.id}"
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@router.get("/{order_id}", response_model=OrderOut, responses={**QUERY, **refusals(404)})
async def get_order(
    order_id: uuid.UUID, request: Request, orders: ServiceDep, prefer: PreferHeader = None
) -> OrderOut:
    try:
        return await orders.get(str(order_id), wait_seconds=wait_seconds(request, prefer))
    except OrderNotFound:
        raise BusinessError(404, "order_not_found", f"No order has id {order_id}.") from None


@router.get("", response_model=OrderList, responses={**QUERY, **refusals(401)})
async def list_orders(
    filters: Annotated[ListFilters, Query()], request: Request, orders: ServiceDep
) -> OrderList:
    if filters.customer_id is None and not is_authorized(
        request, request.app.state.settings, "admin"
    ):
        raise BusinessError(
            401,
            "customer_id_required",
            "Give customer_id to list one customer's orders, or the admin "
            "token (Authorization: Bearer …) to list everyone's.",
        )
    return await orders.list(filters)
