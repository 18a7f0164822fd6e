"""Payment HTTP routes: validate, run the domain in a transaction, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter

from checkout.common.app import DatabaseDep, SettingsDep
from checkout.common.responses import BODY, QUERY, UNAUTHORIZED, refusals
from checkout.common.routing import OrchestratorRoute, ServiceRoute
from checkout.common.schemas import IdempotencyKey, OrderId
from checkout.payment import domain
from checkout.payment.schemas import (
    ChargeRequest,
    PaymentList,
    PaymentOut,
    RefundOut,
    RefundRequest,
)

orchestrated = APIRouter(prefix="/payments", tags=["payments"], route_class=OrchestratorRoute)
queries = APIRouter(prefix="/payments", tags=["payments"], route_class=ServiceRoute)


def _out(payment: domain.Payment) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount,
        status="refunded" if payment.status == "refunded" else "captured",
    )


@orchestrated.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses={**UNAUTHORIZED, **BODY, **refusals(402, 409)},
)
async def charge(
    body: ChargeRequest, key: IdempotencyKey, database: DatabaseDep, settings: SettingsDep
) -> PaymentOut:
    payment = await database.run(
        domain.charge,
        order_id=str(body.order_id),
        customer_id=body.customer_id,
        amount=body.amount,
        payment_method=body.payment_method,
        idempotency_key=key,
        check_idempotency=not settings.idempotency_disabled,
    )
    return _out(payment)


@orchestrated.post(
    "/refunds",
    response_model=RefundOut,
    response_model_exclude_none=True,
    responses={**UNAUTHORIZED, **BODY, **refusals(409)},
)
async def refund(body: RefundRequest, key: IdempotencyKey, database: DatabaseDep) -> RefundOut:
    outcome = await database.run(
        domain.refund, order_id=str(body.order_id), amount=body.amount, idempotency_key=key
    )
    if outcome.status == "refunded":
        return RefundOut(order_id=outcome.order_id, status="refunded", amount=outcome.amount)
    return RefundOut(order_id=outcome.order_id, status="nothing_to_refund")


@queries.get("", response_model=PaymentList, responses={**UNAUTHORIZED, **QUERY})
async def list_payments(order_id: OrderId, database: DatabaseDep) -> PaymentList:
    found = await database.run(domain.list_payments, order_id=str(order_id))
    return PaymentList(items=[_out(payment) for payment in found])
