"""Inventory HTTP routes: validate, run the domain in one transaction, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from checkout.common.app import DatabaseDep, SettingsDep
from checkout.common.responses import BODY, QUERY, UNAUTHORIZED, Message, refusals
from checkout.common.routing import AdminRoute, OrchestratorRoute, ServiceRoute
from checkout.common.schemas import IdempotencyKey, OrderId, PlainText
from checkout.inventory import domain
from checkout.inventory.schemas import (
    LineOut,
    ProductOut,
    ProductUpdate,
    ReleaseOut,
    ReleaseRequest,
    ReservationList,
    ReservationOut,
    ReserveRequest,
)

orchestrated = APIRouter(tags=["reservations"], route_class=OrchestratorRoute)
queries = APIRouter(tags=["reservations"], route_class=ServiceRoute)
public = APIRouter(tags=["products"])
admin = APIRouter(tags=["products"], route_class=AdminRoute)

ProductId = Annotated[PlainText, Path(min_length=1, max_length=200)]


def _out(reservation: domain.Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        order_id=reservation.order_id,
        status="released" if reservation.status == "released" else "reserved",
        lines=[LineOut(product_id=x.product_id, quantity=x.quantity) for x in reservation.lines],
    )


@orchestrated.post(
    "/reservations",
    status_code=201,
    response_model=ReservationOut,
    responses={**UNAUTHORIZED, **BODY, **refusals(409)},
)
async def reserve(
    body: ReserveRequest, key: IdempotencyKey, database: DatabaseDep, settings: SettingsDep
) -> ReservationOut:
    reservation = await database.run(
        domain.reserve,
        order_id=str(body.order_id),
        lines=[domain.Line(line.product_id, line.quantity) for line in body.lines],
        idempotency_key=key,
        check_idempotency=not settings.idempotency_disabled,
    )
    return _out(reservation)


@orchestrated.post(
    "/reservations/release", response_model=ReleaseOut, responses={**UNAUTHORIZED, **BODY}
)
async def release(body: ReleaseRequest, key: IdempotencyKey, database: DatabaseDep) -> ReleaseOut:
    outcome = await database.run(domain.release, order_id=str(body.order_id), idempotency_key=key)
    status = "released" if outcome.status == "released" else "nothing_to_release"
    return ReleaseOut(order_id=outcome.order_id, status=status)


@queries.get("/reservations", response_model=ReservationList, responses={**UNAUTHORIZED, **QUERY})
async def list_reservations(order_id: OrderId, database: DatabaseDep) -> ReservationList:
    found = await database.run(domain.list_reservations, order_id=str(order_id))
    return ReservationList(items=[_out(reservation) for reservation in found])


@public.get(
    "/products/{product_id}",
    response_model=ProductOut,
    responses=QUERY | {404: {"model": Message, "description": "No such product"}},
)
async def read_product(product_id: ProductId, database: DatabaseDep) -> ProductOut | JSONResponse:
    stock = await database.run(domain.available, product_id=product_id)
    if stock is None:
        return JSONResponse({"detail": f"There is no product {product_id!r}."}, status_code=404)
    return ProductOut(product_id=product_id, available=stock)


@admin.put("/products/{product_id}", response_model=ProductOut, responses={**UNAUTHORIZED, **BODY})
async def set_product(
    product_id: ProductId, body: ProductUpdate, database: DatabaseDep
) -> ProductOut:
    await database.run(domain.set_available, product_id=product_id, available=body.available)
    return ProductOut(product_id=product_id, available=body.available)
