"""What each of the orchestrator's payment requests gets: its first answer, for good.

Each function is one transaction (``Database.run`` passes the connection): it decides
with the domain rules and records the answer under the request's idempotency key, or
replays the answer recorded before (:mod:`checkout.common.answers`).
"""

from __future__ import annotations

from sqlalchemy import Connection

from checkout.common.answers import Answer, KeyRules, first_answer
from checkout.payment import domain
from checkout.payment.schemas import ChargeRequest, PaymentOut, RefundOut, RefundRequest
from checkout.payment.tables import answers


def payment_out(payment: domain.Payment) -> PaymentOut:
    status = "refunded" if payment.status == "refunded" else "captured"
    return PaymentOut(
        id=payment.id, order_id=payment.order_id, amount=payment.amount, status=status
    )


@first_answer(answers, operation="charge")
def charge(connection: Connection, request: ChargeRequest, key: str, rules: KeyRules) -> Answer:
    payment = domain.charge(
        connection,
        order_id=str(request.order_id),
        customer_id=request.customer_id,
        amount=request.amount,
        payment_method=request.payment_method,
        idempotency_key=key,
        check_idempotency=rules.idempotent,
    )
    return Answer(201, payment_out(payment).model_dump(mode="json"))


@first_answer(answers, operation="refund")
def refund(connection: Connection, request: RefundRequest, key: str, rules: KeyRules) -> Answer:
    outcome = domain.refund(
        connection, order_id=str(request.order_id), amount=request.amount, idempotency_key=key
    )
    if outcome.status == "refunded":
        out = RefundOut(order_id=outcome.order_id, status="refunded", amount=outcome.amount)
    else:
        out = RefundOut(order_id=outcome.order_id, status="nothing_to_refund")
    return Answer(200, out.model_dump(mode="json", exclude_none=True))
