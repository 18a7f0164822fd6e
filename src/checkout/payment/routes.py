"""Payment HTTP routes: validate, then answer in one transaction (``service``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from checkout.common.app import DatabaseDep, KeyRulesDep
from checkout.common.outages import UNAVAILABLE
from checkout.common.responses import BODY, QUERY, TOO_LATE, UNAUTHORIZED, answered, refusals
from checkout.common.routing import OrchestratorRoute, ServiceRoute
from checkout.common.schemas import (
    IdempotencyKey,
    KeyTimesHeaders,
    OptionalKeyTimesHeaders,
    OrderId,
)
from checkout.payment import domain, service
from checkout.payment.schemas import (
    ChargeRequest,
    ConfirmationOut,
    ConfirmationRequest,
    PaymentList,
    PaymentOut,
    RefundOut,
    RefundRequest,
)

orchestrated = APIRouter(
    prefix="/payments",
    tags=["payments"],
    route_class=OrchestratorRoute,
    responses={**UNAUTHORIZED, **BODY, **TOO_LATE, **UNAVAILABLE},
)
queries = APIRouter(
    prefix="/payments",
    tags=["payments"],
    route_class=ServiceRoute,
    responses={**UNAUTHORIZED, **QUERY, **UNAVAILABLE},
)


@orchestrated.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses=refusals(402, 409),
)
async def charge(
    body: ChargeRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.charge, body, key=key, rules=rules, times=times)
    return answered(answer)


@orchestrated.post(
    "/refunds",
    response_model=RefundOut,
    response_model_exclude_none=True,
    responses=refusals(409),
)
async def refund(
    body: RefundRequest,
    key: IdempotencyKey,
    times: KeyTimesHeaders,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    answer = await database.run(service.refund, body, key=key, rules=rules, times=times)
    return answered(answer)


@orchestrated.post(
    "/confirmations",
    response_model=ConfirmationOut,
    responses=refusals(404, 409),
)
async def confirm(
    body: ConfirmationRequest,
    key: IdempotencyKey,
    times: OptionalKeyTimesHeaders,
    request: Request,
    database: DatabaseDep,
    rules: KeyRulesDep,
) -> JSONResponse:
    """The card holder's answer to a payment's challenge: the first answer stands; the
    order service is told of it (``POST /payment-events``) once it is recorded."""
    answer = await database.run(service.confirm, body, key=key, rules=rules, times=times)
    if not answer.is_refusal:
        request.app.state.webhooks.poke()
    return answered(answer)


@queries.get("", response_model=PaymentList, response_model_exclude_none=True)
async def list_payments(order_id: OrderId, database: DatabaseDep) -> PaymentList:
    found = await database.run(domain.list_payments, order_id=str(order_id))
    return PaymentList(items=[service.payment_out(payment) for payment in found])
