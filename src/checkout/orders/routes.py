"""Order HTTP routes: parse, call the service, shape the answer.

Each route's class admits its caller before the body is read (see ``routing``); the
routes then keep a customer to their own orders.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from checkout.common.outages import UNAVAILABLE
from checkout.common.refusals import BusinessError, key_reused
from checkout.common.responses import BODY, QUERY, refusals
from checkout.orders.access import Customer
from checkout.orders.routing import CallerDep, ListOrdersRoute, PlaceOrderRoute, ReadOrderRoute
from checkout.orders.schemas import ListFilters, OrderList, OrderOut, OrderRequest
from checkout.orders.service import (
    IdempotencyConflict,
    OrderInProgress,
    OrderNotFound,
    OrderService,
)

# One router per door: a route's class is its router's.
placing = APIRouter(prefix="/orders", tags=["orders"], route_class=PlaceOrderRoute)
reading = APIRouter(prefix="/orders", tags=["orders"], route_class=ReadOrderRoute)
listing = APIRouter(prefix="/orders", tags=["orders"], route_class=ListOrdersRoute)

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


@placing.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses={**BODY, **refusals(401, 403, 409), **UNAVAILABLE},
)
async def place_order(
    body: OrderRequest,
    request: Request,
    response: Response,
    orders: ServiceDep,
    caller: CallerDep,
    prefer: PreferHeader = None,
    idempotency_key: IdempotencyHeader = None,
) -> OrderOut:
    if isinstance(caller, Customer) and body.customer_id != caller.id:
        raise BusinessError(
            403,
            "not_your_customer_id",
            "customer_id must be the signed-in customer's (the token's subject): "
            "a customer places orders in their own name only.",
        )
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


@reading.get(
    "/{order_id}", response_model=OrderOut, responses={**QUERY, **refusals(401, 404), **UNAVAILABLE}
)
async def get_order(
    order_id: uuid.UUID,
    request: Request,
    orders: ServiceDep,
    caller: CallerDep,
    prefer: PreferHeader = None,
) -> OrderOut:
    try:
        return await orders.get(
            str(order_id),
            wait_seconds=wait_seconds(request, prefer),
            customer_id=caller.id if isinstance(caller, Customer) else None,
        )
    except OrderNotFound:
        raise BusinessError(404, "order_not_found", f"No order has id {order_id}.") from None


@listing.get("", response_model=OrderList, responses={**QUERY, **refusals(401, 403), **UNAVAILABLE})
async def list_orders(
    filters: Annotated[ListFilters, Query()], orders: ServiceDep, caller: CallerDep
) -> OrderList:
    """Everyone's orders for the admin token; a customer's own for theirs."""
    if isinstance(caller, Customer):
        if filters.customer_id not in (None, caller.id):
            raise BusinessError(
                403,
                "not_your_customer_id",
                "A customer lists their own orders only: leave customer_id out, "
                "or set it to the token's subject.",
            )
        filters = filters.model_copy(update={"customer_id": caller.id})
    return await orders.list(filters)


router = APIRouter()
for door in (placing, reading, listing):
    router.include_router(door)
