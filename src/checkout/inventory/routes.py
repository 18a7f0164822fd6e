"""Inventory HTTP routes: validate, then answer in one transaction (``service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import JSONResponse

from checkout.common.app import DatabaseDep, KeyRulesDep
from checkout.common.outages import UNAVAILABLE
from checkout.common.responses import (
    BODY,
    QUERY,
    TOO_LATE,
    UNAUTHORIZED,
    Message,
    answered,
    refusals,
)
from checkout.common.routing import AdminRoute, OrchestratorRoute, ServiceRoute
from checkout.common.schemas import (
    IdempotencyKey,
    KeyTimesHeaders,
    OptionalKeyTimesHeaders,
    OrderId,
    PlainText,
)
from checkout.inventory import domain, service
from checkout.inventory.schemas import (
    ProductOut,
    ProductUpdate,
    ReleaseOut,
    ReleaseRequest,
    ReservationList,
    ReservationOut,
    ReserveRequest,
    RestockRequest,
)

orchestrated = APIRouter(
    tags=["reservations"],
    route_class=OrchestratorRoute,
    responses={**UNAUTHORIZED, **BODY, **TOO_LATE, **UNAVAILABLE},
)
queries = APIRouter(
    tags=["reservations"],
    route_class=ServiceRoute,
    responses={**UNAUTHORIZED, **QUERY, **UNAVAILABLE},
)
public = APIRouter(tags=["products"], responses={**QUERY, **UNAVAILABLE})
admin = APIRouter(
    tags=["products"], route_class=AdminRoute, responses={**UNAUTHORIZED, **BODY, **UNAVAILABLE}
)

ProductId = Annotated[PlainText, Path(min_length=1, max_length=200)]
OptionalIdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


@orchestrated.post(
    "/reservations",
    status_code=201,
    response_model=ReservationOut,
    responses=refusals(409),
)
async def reserve(
    body: ReserveRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.reserve, body, key=key, rules=rules, times=times)
    return answered(answer)


@orchestrated.post("/reservations/release", response_model=ReleaseOut)
async def release(
    body: ReleaseRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.release, body, key=key, rules=rules, times=times)
    return answered(answer)


@queries.get("/reservations", response_model=ReservationList)
async def list_reservations(order_id: OrderId, database: DatabaseDep) -> ReservationList:
    found = await database.run(domain.list_reservations, order_id=str(order_id))
    return ReservationList(items=[service.reservation_out(reservation) for reservation in found])


@public.get(
    "/products/{product_id}",
    response_model=ProductOut,
    responses={404: {"model": Message, "description": "No such product"}},
)
async def read_product(product_id: ProductId, database: DatabaseDep) -> ProductOut | JSONResponse:
    stock = await database.run(domain.available, product_id=product_id)
    if stock is None:
        return JSONResponse({"detail": f"There is no product {product_id!r}."}, status_code=404)
    return ProductOut(product_id=product_id, available=stock)


@admin.put("/products/{product_id}", response_model=ProductOut)
async def set_product(
    product_id: ProductId, body: ProductUpdate, database: DatabaseDep
) -> ProductOut:
    await database.run(domain.set_available, product_id=product_id, available=body.available)
    return ProductOut(product_id=product_id, available=body.available)


@admin.post(
    "/products/{product_id}/restock",
    response_model=ProductOut,
    responses={**refusals(404, 409), **TOO_LATE},
)
async def restock(
    product_id: ProductId,
    body: RestockRequest,
    times: OptionalKeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
    key: OptionalIdempotencyKey = None,
) -> JSONResponse:
    """Add ``quantity`` units to the stock, atomically; answers the new level.

    Unlike ``PUT``, which overwrites the level, a restock never loses a reservation
    made meanwhile. With an ``Idempotency-Key`` a retry adds the units once.
    """
    answer = await database.run(
        service.restock,
        body,
        product_id=product_id,
        key=key,
        rules=rules,
        times=times,
    )
    return answered(answer)
