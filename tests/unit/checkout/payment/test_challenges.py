"""A card that asks its holder to confirm (3-D Secure): the payment rules alone, called
directly on a migrated database, one transaction per call."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from checkout.books import read_payments
from checkout.common.database import Database
from checkout.common.refusals import BusinessError
from checkout.payment import challenges, domain
from checkout.payment.domain import Payment, RefundOutcome
from checkout.payment.tables import payment_events, refunds

AMOUNT = Decimal("35.00")


@pytest.fixture
def order_id() -> str:
    return str(uuid.uuid4())


async def charge(db: Database, order_id: str) -> Payment:
    return await db.run(
        domain.charge,
        order_id=order_id,
        customer_id="cust123",
        amount=AMOUNT,
        payment_method="card_3ds",
        idempotency_key=f"{order_id}:payment:forward",
    )


async def answer(db: Database, payment: Payment, outcome: challenges.Outcome) -> Payment:
    assert payment.challenge_id is not None
    return await db.run(challenges.answer, challenge_id=payment.challenge_id, outcome=outcome)


async def refund(db: Database, order_id: str, *, key: str = "refund-1") -> RefundOutcome:
    return await db.run(domain.refund, order_id=order_id, amount=AMOUNT, idempotency_key=key)


async def stored(db: Database, order_id: str) -> Payment:
    [payment] = await db.run(domain.list_payments, order_id=order_id)
    return payment


def _rows(connection: sa.Connection, table: sa.Table) -> list[sa.Row[tuple[str, ...]]]:
    return list(connection.execute(sa.select(table)))


async def notices(db: Database) -> list[tuple[str, str]]:
    rows = await db.run(_rows, payment_events)
    return [(row.challenge_id, row.outcome) for row in rows]


async def refused(db: Database, payment: Payment, outcome: challenges.Outcome) -> BusinessError:
    with pytest.raises(BusinessError) as refusal:
        await answer(db, payment, outcome)
    return refusal.value


async def test_a_3ds_charge_opens_a_challenge_and_captures_nothing(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)

    assert payment.status == "requires_confirmation"
    assert payment.challenge_id is not None and payment.challenge_answer is None
    assert await stored(db, order_id) == payment
    assert await notices(db) == []


async def test_a_confirmation_captures_and_writes_one_notice(db: Database, order_id: str) -> None:
    payment = await charge(db, order_id)

    confirmed = await answer(db, payment, "confirmed")

    assert (confirmed.status, confirmed.challenge_answer) == ("captured", "confirmed")
    assert await stored(db, order_id) == confirmed
    assert await notices(db) == [(payment.challenge_id, "confirmed")]


async def test_a_decline_takes_nothing_and_writes_one_notice(db: Database, order_id: str) -> None:
    payment = await charge(db, order_id)

    declined = await answer(db, payment, "declined")

    assert (declined.status, declined.challenge_answer) == ("declined", "declined")
    assert await notices(db) == [(payment.challenge_id, "declined")]


async def test_the_same_answer_again_finds_the_first_and_writes_no_second_notice(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)
    first = await answer(db, payment, "confirmed")

    again = await answer(db, payment, "confirmed")

    assert again == first
    assert len(await notices(db)) == 1


async def test_another_answer_after_the_first_is_refused_and_changes_nothing(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)
    await answer(db, payment, "declined")

    refusal = await refused(db, payment, "confirmed")

    assert (refusal.status_code, refusal.code) == (409, "challenge_answered")
    assert refusal.detail()["answer"] == "declined"
    assert (await stored(db, order_id)).status == "declined"


async def test_an_unknown_challenge_is_not_found(db: Database) -> None:
    with pytest.raises(BusinessError) as refusal:
        await db.run(challenges.answer, challenge_id=str(uuid.uuid4()), outcome="confirmed")

    assert (refusal.value.status_code, refusal.value.code) == (404, "challenge_not_found")


async def test_a_refund_of_an_unconfirmed_payment_voids_it_and_moves_no_money(
    db: Database, order_id: str
) -> None:
    await charge(db, order_id)

    outcome = await refund(db, order_id)

    assert outcome == RefundOutcome(order_id, "voided", AMOUNT)
    assert (await stored(db, order_id)).status == "voided"
    assert await db.run(_rows, refunds) == []


async def test_an_answer_after_the_payment_was_voided_is_refused(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)
    await refund(db, order_id)

    refusal = await refused(db, payment, "confirmed")

    assert (refusal.status_code, refusal.code) == (409, "payment_voided")
    assert (await stored(db, order_id)).status == "voided"
    assert await notices(db) == []


async def test_a_refund_of_a_confirmed_payment_gives_the_money_back(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)
    await answer(db, payment, "confirmed")

    outcome = await refund(db, order_id)

    assert outcome == RefundOutcome(order_id, "refunded", AMOUNT)
    refunded = await stored(db, order_id)
    assert (refunded.status, refunded.challenge_answer) == ("refunded", "confirmed")
    assert len(await db.run(_rows, refunds)) == 1
    assert await answer(db, payment, "confirmed") == refunded  # still its first answer


async def test_a_refund_of_a_declined_payment_has_nothing_to_refund(
    db: Database, order_id: str
) -> None:
    payment = await charge(db, order_id)
    await answer(db, payment, "declined")

    outcome = await refund(db, order_id)

    assert outcome == RefundOutcome(order_id, "nothing_to_refund")
    assert (await stored(db, order_id)).status == "declined"


async def test_a_second_refund_key_after_a_void_says_voided_and_changes_nothing(
    db: Database, order_id: str
) -> None:
    await charge(db, order_id)
    await refund(db, order_id, key="refund-1")

    outcome = await refund(db, order_id, key="refund-2")

    assert outcome == RefundOutcome(order_id, "voided", AMOUNT)
    assert (await stored(db, order_id)).status == "voided"


async def test_the_books_count_only_money_taken_and_name_open_challenges(db: Database) -> None:
    voided, declined, confirmed, waiting = (str(uuid.uuid4()) for _ in range(4))
    for order_id in (voided, declined, confirmed, waiting):
        await charge(db, order_id)
    await refund(db, voided)
    await answer(db, await stored(db, declined), "declined")
    await answer(db, await stored(db, confirmed), "confirmed")

    book = await db.run(read_payments)

    assert list(book.charges) == [(confirmed, AMOUNT)]
    assert list(book.refunds) == []
    assert list(book.awaiting) == [waiting]
