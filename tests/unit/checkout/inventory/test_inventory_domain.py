"""The stock rules, called directly on a migrated database, one transaction per call.

The migration seeds product1 ... product10 with 1000 units each.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.database import Database
from checkout.common.refusals import BusinessError
from checkout.inventory import domain
from checkout.inventory.domain import Line, ReleaseOutcome, Reservation
from checkout.inventory.tables import reservations

SEEDED = 1000


@pytest.fixture
def order_id() -> str:
    return str(uuid.uuid4())


async def reserve(
    db: Database, order_id: str, lines: Sequence[Line], *, key: str = "reserve-1"
) -> Reservation:
    return await db.run(domain.reserve, order_id=order_id, lines=lines, idempotency_key=key)


async def release(db: Database, order_id: str, *, key: str = "release-1") -> ReleaseOutcome:
    return await db.run(domain.release, order_id=order_id, idempotency_key=key)


async def stock(db: Database, product_id: str) -> int | None:
    return await db.run(domain.available, product_id=product_id)


async def set_stock(db: Database, product_id: str, available: int) -> None:
    await db.run(domain.set_available, product_id=product_id, available=available)


def _count_reservations(connection: Connection) -> int:
    return connection.scalar(sa.select(sa.func.count()).select_from(reservations)) or 0


async def reservation_count(db: Database) -> int:
    return await db.run(_count_reservations)


async def test_reserve_takes_every_lines_quantity_out_of_stock(db: Database, order_id: str) -> None:
    reservation = await reserve(db, order_id, [Line("product2", 3), Line("product1", 2)])

    assert reservation.status == "reserved"
    assert reservation.lines == (Line("product1", 2), Line("product2", 3))
    assert await stock(db, "product1") == SEEDED - 2
    assert await stock(db, "product2") == SEEDED - 3


async def test_reservation_with_one_line_short_takes_nothing_from_any_line(
    db: Database, order_id: str
) -> None:
    await set_stock(db, "product2", 1)

    with pytest.raises(BusinessError) as refused:
        await reserve(db, order_id, [Line("product1", 2), Line("product2", 5)])

    assert (refused.value.code, refused.value.extra) == (
        "insufficient_stock",
        {"product_id": "product2"},
    )
    assert await stock(db, "product1") == SEEDED
    assert await stock(db, "product2") == 1
    assert await reservation_count(db) == 0


async def test_unknown_product_is_refused_and_takes_nothing(db: Database, order_id: str) -> None:
    with pytest.raises(BusinessError) as refused:
        await reserve(db, order_id, [Line("product1", 2), Line("no-such-product", 1)])

    assert (refused.value.code, refused.value.extra) == (
        "unknown_product",
        {"product_id": "no-such-product"},
    )
    assert await stock(db, "product1") == SEEDED
    assert await reservation_count(db) == 0


async def test_release_puts_the_reserved_stock_back(db: Database, order_id: str) -> None:
    await reserve(db, order_id, [Line("product1", 2), Line("product2", 3)])

    outcome = await release(db, order_id)

    assert outcome == ReleaseOutcome(order_id, "released")
    assert await stock(db, "product1") == SEEDED
    assert await stock(db, "product2") == SEEDED


async def test_second_release_key_does_not_put_the_stock_back_twice(
    db: Database, order_id: str
) -> None:
    await reserve(db, order_id, [Line("product1", 2)])
    await release(db, order_id, key="release-1")

    outcome = await release(db, order_id, key="release-2")

    assert outcome == ReleaseOutcome(order_id, "released")
    assert await stock(db, "product1") == SEEDED


async def test_release_with_nothing_reserved_is_a_no_op(db: Database, order_id: str) -> None:
    outcome = await release(db, order_id)

    assert outcome == ReleaseOutcome(order_id, "nothing_to_release")
    assert await stock(db, "product1") == SEEDED
