"""Order HTTP routes: parse, call the service, shape the answer."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from checkout.common.auth import is_authorized
from checkout.common.errors import BusinessError, key_reused
from checkout.common.responses import BODY, QUERY, refusals
from checkout.orders.customers import CUSTOMER_TOKEN_HEADER, customer_token, is_customer
from checkout.orders.schemas import ListFilters, OrderList, OrderOut, OrderRequest
from checkout.orders.service import (
    IdempotencyConflict,
    OrderInProgress,
    OrderNotFound,
    OrderService,
)

router = APIRouter(prefix="/orders", tags=["orders"])

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*\"?(\d{1,6})\"?", re.IGNORECASE)


async def get_service(request: Request) -> OrderService:
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
    secret = request.app.state.settings.admin_token
    response.headers[CUSTOMER_TOKEN_HEADER] = customer_token(secret, placed.order.customer_id)
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
    settings = request.app.state.settings
    own = filters.customer_id is not None and is_customer(
        request, settings.admin_token, filters.customer_id
    )
    if not own and not is_authorized(request, settings, "admin"):
        raise BusinessError(
            401,
            "customer_token_required",
            "List one customer's orders with customer_id and that customer's token "
            f"(the {CUSTOMER_TOKEN_HEADER} header of POST /orders) as "
            "Authorization: Bearer …; listing everyone's needs the admin token.",
        )
    return await orders.list(filters)
