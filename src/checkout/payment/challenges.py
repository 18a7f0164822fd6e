"""The card holder's answer to a payment's challenge (3-D Secure): the payment rules alone.

A card that asks its holder first is charged as ``requires_confirmation`` with a
challenge (:func:`checkout.payment.domain.charge`). The first answer is final: a
confirmation captures the money, a decline closes the payment without taking any, and
the same answer again finds what the first did. Once the order has given up
(:func:`checkout.payment.domain.refund` voided the payment) no answer moves money.

An answer that changes the payment also writes the notice the order service is to get
(``payment_events``, an outbox) in the same transaction: it cannot be recorded and
then forgotten. :mod:`checkout.payment.webhooks` delivers it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection

from checkout.common.database import lock_order
from checkout.common.refusals import BusinessError
from checkout.payment.domain import Payment, payment_by_challenge
from checkout.payment.tables import payment_events, payments

Outcome = Literal["confirmed", "declined"]
STATUS_AFTER: dict[str, str] = {"confirmed": "captured", "declined": "declined"}


def answer(connection: Connection, *, challenge_id: str, outcome: Outcome) -> Payment:
    """The payment once its holder answered ``outcome``; refused (409) if the
    challenge was answered otherwise, or closed because the order gave up."""
    found = payment_by_challenge(connection, challenge_id)
    if found is None:
        raise BusinessError(404, "challenge_not_found", f"No payment has challenge {challenge_id}.")
    lock_order(connection, found.order_id)
    payment = payment_by_challenge(connection, challenge_id)  # as it is under the lock
    assert payment is not None, "payments are never deleted"
    if payment.challenge_answer == outcome:
        return payment
    if payment.challenge_answer is not None:
        raise BusinessError(
            409,
            "challenge_answered",
            f"This challenge was already answered {payment.challenge_answer}; "
            "the first answer is final.",
            answer=payment.challenge_answer,
        )
    if payment.status != "requires_confirmation":
        raise BusinessError(
            409,
            "payment_voided",
            "The order stopped waiting for this confirmation and nothing was charged; "
            "place the order again to pay for it.",
        )
    now = datetime.now(UTC)
    status = STATUS_AFTER[outcome]
    connection.execute(
        payments.update()
        .where(payments.c.id == payment.id)
        .values(status=status, challenge_answer=outcome, answered_at=now)
    )
    connection.execute(
        payment_events.insert().values(
            id=str(uuid.uuid4()),
            order_id=payment.order_id,
            payment_id=payment.id,
            challenge_id=challenge_id,
            outcome=outcome,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    return replace(payment, status=status, challenge_answer=outcome)
