"""The payment rules, called directly on a migrated database, one transaction per call."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from checkout.common.database import Database
from checkout.common.refusals import BusinessError
from checkout.payment import domain
from checkout.payment.domain import Payment, RefundOutcome
from checkout.payment.tables import payments, refunds

AMOUNT = Decimal("35.00")


@pytest.fixture
def order_id() -> str:
    return str(uuid.uuid4())


async def charge(
    db: Database, order_id: str, *, key: str = "charge-1", method: str = "credit_card"
) -> Payment:
    return await db.run(
        domain.charge,
        order_id=order_id,
        customer_id="cust123",
        amount=AMOUNT,
        payment_method=method,
        idempotency_key=key,
    )


async def refund(
    db: Database, order_id: str, *, key: str = "refund-1", amount: Decimal = AMOUNT
) -> RefundOutcome:
    return await db.run(domain.refund, order_id=order_id, amount=amount, idempotency_key=key)


async def stored_payments(db: Database, order_id: str) -> list[Payment]:
    return await db.run(domain.list_payments, order_id=order_id)


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0


async def count(db: Database, table: sa.Table) -> int:
    return await db.run(_count, table)


async def test_charge_stores_one_captured_payment(db: Database, order_id: str) -> None:
    payment = await charge(db, order_id)

    assert payment.status == "captured"
    assert payment.amount == AMOUNT
    assert payment.idempotency_key == "charge-1"
    assert await stored_payments(db, order_id) == [payment]


async def test_declined_card_raises_payment_declined_and_stores_nothing(
    db: Database, order_id: str
) -> None:
    with pytest.raises(BusinessError) as refused:
        await charge(db, order_id, method="declined_card")

    assert (refused.value.status_code, refused.value.code) == (402, "payment_declined")
    assert await count(db, payments) == 0


async def test_refund_marks_the_captured_payment_refunded_and_records_one_refund(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)

    outcome = await refund(db, order_id)

    assert outcome == RefundOutcome(order_id, "refunded", AMOUNT)
    [stored] = await stored_payments(db, order_id)
    assert (stored.id, stored.status) == (payment.id, "refunded")
    assert await count(db, refunds) == 1


async def test_refund_with_nothing_charged_answers_nothing_to_refund(
    db: Database, order_id: str
) -> None:
    outcome = await refund(db, order_id)

    assert outcome == RefundOutcome(order_id, "nothing_to_refund")
    assert await count(db, refunds) == 0


async def test_refund_above_the_captured_amount_is_refused_and_changes_nothing(
    db: Database, order_id: str
) -> None:
    await charge(db, order_id)

    with pytest.raises(BusinessError) as refused:
        await refund(db, order_id, amount=AMOUNT + Decimal("0.01"))

    assert (refused.value.status_code, refused.value.code) == (409, "refund_exceeds_capture")
    [stored] = await stored_payments(db, order_id)
    assert stored.status == "captured"
    assert await count(db, refunds) == 0


async def test_second_refund_key_after_a_refund_does_not_refund_twice(
    db: Database, order_id: str
) -> None:
    await charge(db, order_id)
    await refund(db, order_id, key="refund-1")

    outcome = await refund(db, order_id, key="refund-2")

    assert outcome == RefundOutcome(order_id, "refunded", AMOUNT)
    assert await count(db, refunds) == 1
