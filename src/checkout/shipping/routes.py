"""Shipping HTTP routes: validate, run the domain in one transaction, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter

from checkout.common.app import DatabaseDep, SettingsDep
from checkout.common.responses import BODY, QUERY, UNAUTHORIZED, refusals
from checkout.common.routing import OrchestratorRoute, ServiceRoute
from checkout.common.schemas import IdempotencyKey, OrderId
from checkout.shipping import domain
from checkout.shipping.schemas import (
    CancelOut,
    CancelRequest,
    ShipmentList,
    ShipmentOut,
    ShipRequest,
)

orchestrated = APIRouter(prefix="/shipments", tags=["shipments"], route_class=OrchestratorRoute)
queries = APIRouter(prefix="/shipments", tags=["shipments"], route_class=ServiceRoute)


def _out(shipment: domain.Shipment) -> ShipmentOut:
    status = "cancelled" if shipment.status == "cancelled" else "created"
    return ShipmentOut(id=shipment.id, order_id=shipment.order_id, status=status)


@orchestrated.post(
    "",
    status_code=201,
    response_model=ShipmentOut,
    responses={**UNAUTHORIZED, **BODY, **refusals(409)},
)
async def create_shipment(
    body: ShipRequest, key: IdempotencyKey, database: DatabaseDep, settings: SettingsDep
) -> ShipmentOut:
    shipment = await database.run(
        domain.create_shipment,
        order_id=str(body.order_id),
        address=domain.Address(**body.address.model_dump()),
        idempotency_key=key,
        check_idempotency=not settings.idempotency_disabled,
    )
    return _out(shipment)


@orchestrated.post("/cancel", response_model=CancelOut, responses={**UNAUTHORIZED, **BODY})
async def cancel_shipment(
    body: CancelRequest, key: IdempotencyKey, database: DatabaseDep
) -> CancelOut:
    outcome = await database.run(
        domain.cancel_shipment, order_id=str(body.order_id), idempotency_key=key
    )
    status = "cancelled" if outcome.status == "cancelled" else "nothing_to_cancel"
    return CancelOut(order_id=outcome.order_id, status=status)


@queries.get("", response_model=ShipmentList, responses={**UNAUTHORIZED, **QUERY})
async def list_shipments(order_id: OrderId, database: DatabaseDep) -> ShipmentList:
    found = await database.run(domain.list_shipments, order_id=str(order_id))
    return ShipmentList(items=[_out(shipment) for shipment in found])
