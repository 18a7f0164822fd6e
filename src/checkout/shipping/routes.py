"""Shipping HTTP routes: validate, then answer in one transaction (``service``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from checkout.common.app import DatabaseDep, KeyRulesDep
from checkout.common.outages import UNAVAILABLE
from checkout.common.responses import BODY, QUERY, TOO_LATE, UNAUTHORIZED, answered, refusals
from checkout.common.routing import OrchestratorRoute, ServiceRoute
from checkout.common.schemas import IdempotencyKey, KeyTimesHeaders, OrderId
from checkout.shipping import domain, service
from checkout.shipping.schemas import (
    CancelOut,
    CancelRequest,
    ShipmentList,
    ShipmentOut,
    ShipRequest,
)

orchestrated = APIRouter(
    prefix="/shipments",
    tags=["shipments"],
    route_class=OrchestratorRoute,
    responses={**UNAUTHORIZED, **BODY, **TOO_LATE, **UNAVAILABLE},
)
queries = APIRouter(
    prefix="/shipments",
    tags=["shipments"],
    route_class=ServiceRoute,
    responses={**UNAUTHORIZED, **QUERY, **UNAVAILABLE},
)


@orchestrated.post(
    "",
    status_code=201,
    response_model=ShipmentOut,
    responses=refusals(409),
)
async def create_shipment(
    body: ShipRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.create_shipment, body, key=key, rules=rules, times=times)
    return answered(answer)


@orchestrated.post("/cancel", response_model=CancelOut)
async def cancel_shipment(
    body: CancelRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.cancel_shipment, body, key=key, rules=rules, times=times)
    return answered(answer)


@queries.get("", response_model=ShipmentList)
async def list_shipments(order_id: OrderId, database: DatabaseDep) -> ShipmentList:
    found = await database.run(domain.list_shipments, order_id=str(order_id))
    return ShipmentList(items=[service.shipment_out(shipment) for shipment in found])
