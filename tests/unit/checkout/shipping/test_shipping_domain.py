"""The shipping rules, called directly on a migrated database, one transaction per call."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from checkout.common.database import Database
from checkout.common.refusals import BusinessError
from checkout.shipping import domain
from checkout.shipping.domain import Address, CancelOutcome, Shipment

ADDRESS = Address(
    street="1 Main St", city="Springfield", state="IL", postal_code="62701", country="US"
)


def new_order() -> str:
    return str(uuid.uuid4())


async def ship(
    db: Database, order_id: str, *, key: str = "ship-1", address: Address = ADDRESS
) -> Shipment:
    return await db.run(
        domain.create_shipment, order_id=order_id, address=address, idempotency_key=key
    )


async def cancel(db: Database, order_id: str, *, key: str = "cancel-1") -> CancelOutcome:
    return await db.run(domain.cancel_shipment, order_id=order_id, idempotency_key=key)


async def shipments(db: Database, order_id: str) -> list[Shipment]:
    return await db.run(domain.list_shipments, order_id=order_id)


async def test_ship_creates_one_shipment_to_the_address(db: Database) -> None:
    order_id = new_order()

    shipment = await ship(db, order_id)

    assert (shipment.order_id, shipment.status, shipment.address) == (
        order_id,
        "created",
        ADDRESS,
    )
    assert await shipments(db, order_id) == [shipment]


async def test_undeliverable_country_is_refused_and_stores_nothing(db: Database) -> None:
    order_id = new_order()

    with pytest.raises(BusinessError) as refused:
        await ship(db, order_id, address=replace(ADDRESS, country="XX"))

    assert (refused.value.status_code, refused.value.code) == (422, "undeliverable")
    assert await shipments(db, order_id) == []


async def test_cancel_marks_the_shipment_cancelled(db: Database) -> None:
    order_id = new_order()
    shipment = await ship(db, order_id)

    outcome = await cancel(db, order_id)

    assert outcome == CancelOutcome(order_id, "cancelled")
    assert await shipments(db, order_id) == [replace(shipment, status="cancelled")]


async def test_cancel_with_nothing_shipped_is_a_no_op(db: Database) -> None:
    order_id = new_order()

    outcome = await cancel(db, order_id)

    assert outcome == CancelOutcome(order_id, "nothing_to_cancel")
    assert await shipments(db, order_id) == []


async def test_cancel_leaves_other_orders_shipments_alone(db: Database) -> None:
    cancelled, kept = new_order(), new_order()
    await ship(db, cancelled, key="ship-a")
    other = await ship(db, kept, key="ship-b")

    await cancel(db, cancelled)

    assert await shipments(db, kept) == [other]
