"""Charging and refunding. Functions take the caller's connection and never commit:
the routes run each as one transaction with ``Database.run``.

Idempotency: the key is stored on the effect's row under a unique index. A repeat with
the same key and the same request returns the stored result; the same key with another
request is refused. A refusal (declined card, ...) writes nothing here; the answer
itself, refusals included, is recorded by :mod:`checkout.payment.service`, so a repeat
gets the first answer and is never judged afresh.

One charge per order is enforced here, under the per-order lock, not by a unique index:
the test-only ``check_idempotency=False`` must be able to charge an order twice, so the
chaos checker can prove it notices. A refund undoes one captured payment per refund key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.database import lock_order
from checkout.common.refusals import BusinessError, key_reused
from checkout.common.tombstones import (
    record_compensated,
    refuse_if_compensated,
    tombstone_by_key,
    write_once,
)
from checkout.payment.tables import compensated_orders, payments, refunds

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
    check_idempotency: bool = True,
) -> Payment:
    """Capture ``amount`` for ``order_id``, once per order.

    With ``check_idempotency=False`` (``IDEMPOTENCY_DISABLED``, test-only) both the key
    lookup and the one-charge-per-order check are skipped: every request charges.
    """
    lock_order(connection, order_id)
    request = (order_id, customer_id, amount, payment_method)
    if check_idempotency:
        existing = _one(connection, payments.c.idempotency_key == idempotency_key)
        if existing is not None:
            return _replay(existing, request)
    else:
        idempotency_key = f"{idempotency_key}:{uuid.uuid4()}"
    refuse_if_compensated(connection, compensated_orders, order_id)
    if payment_method == "declined_card":
        raise BusinessError(402, "payment_declined", "The card was declined.")
    if check_idempotency and _one(connection, payments.c.order_id == order_id) is not None:
        raise _already_charged()
    payment = Payment(
        id=str(uuid.uuid4()),
        order_id=order_id,
        customer_id=customer_id,
        amount=amount,
        payment_method=payment_method,
        status="captured",
        idempotency_key=idempotency_key,
    )
    values = {**payment.__dict__, "created_at": datetime.now(UTC)}
    if write_once(connection, payments.insert().values(**values)):
        return payment
    # A concurrent request (for another order: this one's is locked) won the key's
    # unique index: answer what it stored, which refuses a key reused across orders.
    winner = _one(connection, payments.c.idempotency_key == idempotency_key)
    if winner is not None:
        return _replay(winner, request)
    raise _already_charged()


def refund(
    connection: Connection, *, order_id: str, amount: Decimal, idempotency_key: str
) -> RefundOutcome:
    """Refund one captured payment of ``order_id`` in full; a no-op when there is none.

    Each refund key undoes at most one payment: with idempotency on an order has only
    one, so a second key finds it refunded and answers so. (Charged twice with the
    test-only switch, an order keeps one capture after its single compensation: the
    double effect the chaos checker must see.)
    """
    lock_order(connection, order_id)
    prior = (
        connection.execute(
            sa.select(refunds.c.amount, payments.c.order_id)
            .join(payments, payments.c.id == refunds.c.payment_id)
            .where(refunds.c.idempotency_key == idempotency_key)
        )
    ).first()
    if prior is not None:
        if prior.order_id != order_id or prior.amount != amount:
            raise key_reused()
        return RefundOutcome(order_id, "refunded", prior.amount)
    tombstone = tombstone_by_key(connection, compensated_orders, idempotency_key)
    if tombstone is not None:
        if tombstone.order_id != order_id:
            raise key_reused()
        return RefundOutcome(order_id, "nothing_to_refund")

    charged = list_payments(connection, order_id=order_id)
    if not charged:
        record_compensated(
            connection, compensated_orders, order_id=order_id, idempotency_key=idempotency_key
        )
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
    inserted = write_once(
        connection,
        refunds.insert().values(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            amount=amount,
            idempotency_key=idempotency_key,
            created_at=now,
        ),
    )
    if not inserted:
        raise key_reused()
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


def _one(connection: Connection, condition: sa.ColumnElement[bool]) -> Payment | None:
    row = connection.execute(sa.select(*_columns()).where(condition)).first()
    return None if row is None else Payment(**row._mapping)


def _replay(stored: Payment, request: tuple[str, str, Decimal, str]) -> Payment:
    if (stored.order_id, stored.customer_id, stored.amount, stored.payment_method) != request:
        raise key_reused()
    # The first answer said "captured"; a replay says the same even if refunded since.
    return replace(stored, status="captured")


def _already_charged() -> BusinessError:
    return BusinessError(
        409, "already_charged", "This order was already charged under another request."
    )
