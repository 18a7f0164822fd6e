"""What each of the orchestrator's payment requests gets: its first answer, for good.

Each function is one transaction (``Database.run`` passes the connection): the
participants' protocol (:class:`checkout.common.effects.EffectLedger`) replays the
answer recorded under the request's key, or has the payment rules decide and records
their answer.
"""

from __future__ import annotations

from sqlalchemy import Connection

from checkout.common.answers import SAFE, Answer, KeyRules, answer_once
from checkout.common.effects import EffectLedger
from checkout.common.key_expiry import UNTIMED, KeyTimes
from checkout.payment import challenges, domain
from checkout.payment.schemas import (
    ChallengeOut,
    ChargeRequest,
    ConfirmationOut,
    ConfirmationRequest,
    PaymentOut,
    RefundOut,
    RefundRequest,
)
from checkout.payment.tables import answers, compensated_orders, payments

LEDGER = EffectLedger(
    effects=payments,
    answers=answers,
    tombstones=compensated_orders,
    already_applied=domain.already_charged,
)


def payment_out(payment: domain.Payment) -> PaymentOut:
    challenge = ChallengeOut(id=payment.challenge_id) if payment.challenge_id else None
    return PaymentOut.model_validate(
        {
            "id": payment.id,
            "order_id": payment.order_id,
            "amount": payment.amount,
            "status": payment.status,
            "challenge": challenge,
        }
    )


def charge(
    connection: Connection,
    request: ChargeRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    def apply(connection: Connection, effect_key: str) -> Answer:
        payment = domain.charge(
            connection,
            order_id=str(request.order_id),
            customer_id=request.customer_id,
            amount=request.amount,
            payment_method=request.payment_method,
            idempotency_key=effect_key,
        )
        return Answer(201, payment_out(payment).model_dump(mode="json", exclude_none=True))

    return LEDGER.apply_once(
        connection,
        key=key,
        order_id=str(request.order_id),
        operation="charge",
        request=request,
        apply=apply,
        rules=rules,
        times=times,
    )


def refund(
    connection: Connection,
    request: RefundRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    order_id = str(request.order_id)

    def undo(connection: Connection) -> Answer:
        outcome = domain.refund(
            connection, order_id=order_id, amount=request.amount, idempotency_key=key
        )
        return _refund_answer(outcome)

    return LEDGER.undo_once(
        connection,
        key=key,
        order_id=order_id,
        operation="refund",
        request=request,
        undo=undo,
        nothing_to_undo=_refund_answer(domain.RefundOutcome(order_id, "nothing_to_refund")),
        rules=rules,
        times=times,
    )


def confirm(
    connection: Connection,
    request: ConfirmationRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    """The card holder's answer to a challenge; the payment's first answer stands
    whatever the key (:func:`checkout.payment.challenges.answer`)."""

    def decide(connection: Connection) -> Answer:
        payment = challenges.answer(
            connection, challenge_id=str(request.challenge_id), outcome=request.outcome
        )
        out = ConfirmationOut.model_validate(
            {
                "payment_id": payment.id,
                "order_id": payment.order_id,
                "challenge_id": payment.challenge_id,
                "outcome": payment.challenge_answer,
                "status": payment.status,
            }
        )
        return Answer(200, out.model_dump(mode="json"))

    return answer_once(
        connection,
        answers,
        key=key,
        operation="confirm",
        request=request,
        decide=decide,
        rules=rules,
        times=times,
    )


def _refund_answer(outcome: domain.RefundOutcome) -> Answer:
    if outcome.status in ("refunded", "voided"):
        out = RefundOut.model_validate(
            {"order_id": outcome.order_id, "status": outcome.status, "amount": outcome.amount}
        )
    else:
        out = RefundOut(order_id=outcome.order_id, status="nothing_to_refund")
    return Answer(200, out.model_dump(mode="json", exclude_none=True))
