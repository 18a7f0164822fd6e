"""Charging and refunding: the payment rules alone. Functions take the caller's
connection and never commit: the routes run each as one transaction with ``Database.run``.

Keys, replays, one charge per order and tombstones are the participants' shared
protocol (:class:`checkout.common.effects.EffectLedger`), which calls :func:`charge`
only for an order that may be charged and :func:`refund` only for one that was.
A refund undoes one payment per refund key: it gives back a captured one, or voids one
still waiting for its holder's confirmation (:mod:`checkout.payment.challenges`), which
took no money.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.refusals import BusinessError
from checkout.payment.tables import payments, refunds

PAYMENT_METHODS = frozenset({"credit_card", "debit_card", "paypal", "declined_card", "card_3ds"})
CONFIRMED_BY_HOLDER = frozenset({"card_3ds"})
"""Methods whose charge waits for the card holder to confirm it (3-D Secure)."""


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    customer_id: str
    amount: Decimal
    payment_method: str
    status: str
    idempotency_key: str
    challenge_id: str | None = None
    """Set when the holder must confirm: the challenge they answer."""
    challenge_answer: str | None = None


@dataclass(frozen=True)
class RefundOutcome:
    order_id: str
    status: str  # "refunded" | "voided" | "nothing_to_refund"
    amount: Decimal | None = None


def charge(
    connection: Connection,
    *,
    order_id: str,
    customer_id: str,
    amount: Decimal,
    payment_method: str,
    idempotency_key: str,
) -> Payment:
    """Capture ``amount`` for ``order_id``, storing ``idempotency_key`` with it; for a
    card whose holder must confirm, open a challenge and capture nothing yet."""
    if payment_method == "declined_card":
        raise BusinessError(402, "payment_declined", "The card was declined.")
    challenged = payment_method in CONFIRMED_BY_HOLDER
    payment = Payment(
        id=str(uuid.uuid4()),
        order_id=order_id,
        customer_id=customer_id,
        amount=amount,
        payment_method=payment_method,
        status="requires_confirmation" if challenged else "captured",
        idempotency_key=idempotency_key,
        challenge_id=str(uuid.uuid4()) if challenged else None,
    )
    connection.execute(payments.insert().values(**payment.__dict__, created_at=datetime.now(UTC)))
    return payment


def refund(
    connection: Connection, *, order_id: str, amount: Decimal, idempotency_key: str
) -> RefundOutcome:
    """Refund the order's oldest captured payment in full, or void its oldest payment
    still waiting for a confirmation.

    When every payment of the order is undone already (under another refund key) the
    answer says how, and nothing changes; with no payment at all, or only one its holder
    declined, there is nothing to refund. Each call undoes at most one payment: charged
    twice with the test-only switch, an order keeps one capture after the saga's single
    compensation, the double effect the chaos checker must see.
    """
    charged = list_payments(connection, order_id=order_id)
    captured = [payment for payment in charged if payment.status == "captured"]
    unconfirmed = [p for p in charged if p.status == "requires_confirmation"]
    if unconfirmed and not captured:
        payment = unconfirmed[0]
        _check_whole(payment, amount)
        _void(connection, payment)
        return RefundOutcome(order_id, "voided", amount)
    if not captured:
        return _already_undone(order_id, charged)
    payment = captured[0]
    _check_whole(payment, amount)
    now = datetime.now(UTC)
    connection.execute(
        refunds.insert().values(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            amount=amount,
            idempotency_key=idempotency_key,
            created_at=now,
        )
    )
    connection.execute(
        payments.update()
        .where(payments.c.id == payment.id)
        .values(status="refunded", refunded_at=now)
    )
    return RefundOutcome(order_id, "refunded", amount)


def _already_undone(order_id: str, charged: list[Payment]) -> RefundOutcome:
    for status in ("refunded", "voided"):
        undone = [payment for payment in charged if payment.status == status]
        if undone:
            return RefundOutcome(order_id, status, undone[0].amount)
    return RefundOutcome(order_id, "nothing_to_refund")  # none, or declined: no money moved


def _check_whole(payment: Payment, amount: Decimal) -> None:
    if amount > payment.amount:
        raise BusinessError(
            409,
            "refund_exceeds_capture",
            f"Cannot refund {amount:.2f}: only {payment.amount:.2f} was captured.",
        )
    if amount != payment.amount:
        raise BusinessError(
            409,
            "refund_amount_mismatch",
            f"A refund returns the whole captured amount, {payment.amount:.2f}.",
        )


def _void(connection: Connection, payment: Payment) -> None:
    """The order gave up before the holder confirmed: the challenge closes, and an
    answer that comes later is refused (:mod:`checkout.payment.challenges`)."""
    connection.execute(
        payments.update()
        .where(payments.c.id == payment.id)
        .values(status="voided", voided_at=datetime.now(UTC))
    )


def list_payments(connection: Connection, *, order_id: str) -> list[Payment]:
    """The order's payments, oldest first."""
    rows = connection.execute(
        sa.select(*_columns())
        .where(payments.c.order_id == order_id)
        .order_by(payments.c.created_at, payments.c.id)
    )
    return [Payment(**row._mapping) for row in rows]


def payment_by_challenge(connection: Connection, challenge_id: str) -> Payment | None:
    row = connection.execute(
        sa.select(*_columns()).where(payments.c.challenge_id == challenge_id)
    ).first()
    return Payment(**row._mapping) if row is not None else None


def _columns() -> list[sa.Column[Any]]:
    names = Payment.__dataclass_fields__
    return [column for column in payments.c if column.name in names]


def already_charged() -> BusinessError:
    return BusinessError(
        409, "already_charged", "This order was already charged under another request."
    )
