"""Charging and refunding: the payment rules alone. Functions take the caller's
connection and never commit: the routes run each as one transaction with ``Database.run``.

Keys, replays, one charge per order and tombstones are the participants' shared
protocol (:class:`checkout.common.effects.EffectLedger`), which calls :func:`charge`
only for an order that may be charged and :func:`refund` only for one that was.
A refund undoes one captured payment per refund key.
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

PAYMENT_METHODS = frozenset({"credit_card", "debit_card", "paypal", "declined_card"})


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    customer_id: str
    amount: Decimal
    payment_method: str
    status: str
    idempotency_key: str


@dataclass(frozen=True)
class RefundOutcome:
    order_id: str
    status: str  # "refunded" | "nothing_to_refund"
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
    """Capture ``amount`` for ``order_id``, storing ``idempotency_key`` with it."""
    if payment_method == "declined_card":
        raise BusinessError(402, "payment_declined", "The card was declined.")
    payment = Payment(
        id=str(uuid.uuid4()),
        order_id=order_id,
        customer_id=customer_id,
        amount=amount,
        payment_method=payment_method,
        status="captured",
        idempotency_key=idempotency_key,
    )
    connection.execute(payments.insert().values(**payment.__dict__, created_at=datetime.now(UTC)))
    return payment


def refund(
    connection: Connection, *, order_id: str, amount: Decimal, idempotency_key: str
) -> RefundOutcome:
    """Refund the order's oldest captured payment in full.

    When every payment of the order is refunded already (under another refund key)
    the answer says so and nothing changes; with no payment at all there is nothing to
    refund. Each call refunds at most one payment: charged twice with the test-only
    switch, an order keeps one capture after the saga's single compensation, the
    double effect the chaos checker must see.
    """
    charged = list_payments(connection, order_id=order_id)
    if not charged:
        return RefundOutcome(order_id, "nothing_to_refund")
    captured = [payment for payment in charged if payment.status == "captured"]
    if not captured:
        return RefundOutcome(order_id, "refunded", charged[0].amount)
    payment = captured[0]
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


def list_payments(connection: Connection, *, order_id: str) -> list[Payment]:
    """The order's payments, oldest first."""
    rows = connection.execute(
        sa.select(*_columns())
        .where(payments.c.order_id == order_id)
        .order_by(payments.c.created_at, payments.c.id)
    )
    return [Payment(**row._mapping) for row in rows]


def _columns() -> list[sa.Column[Any]]:
    names = Payment.__dataclass_fields__
    return [column for column in payments.c if column.name in names]


def already_charged() -> BusinessError:
    return BusinessError(
        409, "already_charged", "This order was already charged under another request."
    )
