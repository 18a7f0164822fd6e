"""Creating and cancelling shipments. Functions take the caller's connection, never commit.

One shipment per order is enforced here, under the per-order lock, not by a unique
index: the test-only ``check_idempotency=False`` must be able to ship twice, so the
chaos checker can prove it notices. A cancellation undoes one shipment per cancel key,
and only ever a shipment of the order it names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

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
from checkout.shipping.tables import compensated_orders, shipments

UNDELIVERABLE_COUNTRIES = frozenset({"XX"})


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    state: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class Shipment:
    id: str
    order_id: str
    status: str
    address: Address


@dataclass(frozen=True)
class CancelOutcome:
    order_id: str
    status: str  # "cancelled" | "nothing_to_cancel"


def create_shipment(
    connection: Connection,
    *,
    order_id: str,
    address: Address,
    idempotency_key: str,
    check_idempotency: bool = True,
) -> Shipment:
    """Create the order's shipment, once per order.

    With ``check_idempotency=False`` (``IDEMPOTENCY_DISABLED``, test-only) both the key
    lookup and the one-shipment-per-order check are skipped: every request ships.
    """
    lock_order(connection, order_id)
    if check_idempotency:
        existing = _one(connection, shipments.c.idempotency_key == idempotency_key)
        if existing is not None:
            return _replay(existing, order_id, address)
    else:
        idempotency_key = f"{idempotency_key}:{uuid.uuid4()}"
    refuse_if_compensated(connection, compensated_orders, order_id)
    if address.country in UNDELIVERABLE_COUNTRIES:
        raise BusinessError(422, "undeliverable", f"We do not ship to {address.country!r}.")
    if check_idempotency and _select(connection, shipments.c.order_id == order_id):
        raise _already_shipped()
    shipment = Shipment(str(uuid.uuid4()), order_id, "created", address)
    values = {
        "id": shipment.id,
        "order_id": order_id,
        "status": "created",
        "idempotency_key": idempotency_key,
        "created_at": datetime.now(UTC),
        **address.__dict__,
    }
    if write_once(connection, shipments.insert().values(**values)):
        return shipment
    winner = _one(connection, shipments.c.idempotency_key == idempotency_key)
    if winner is None:
        raise _already_shipped()
    return _replay(winner, order_id, address)


def cancel_shipment(
    connection: Connection, *, order_id: str, idempotency_key: str
) -> CancelOutcome:
    """Cancel one shipment of ``order_id``, once; a no-op when there is none.

    Each cancel key cancels at most one shipment: with idempotency on an order has
    only one, so a second key finds it cancelled and answers so.
    """
    lock_order(connection, order_id)
    by_key = _one(connection, shipments.c.cancel_idempotency_key == idempotency_key)
    tombstone = tombstone_by_key(connection, compensated_orders, idempotency_key)
    owner = by_key.order_id if by_key is not None else None
    if owner is None and tombstone is not None:
        owner = tombstone.order_id
    if owner is not None:
        if owner != order_id:
            raise key_reused()
        return CancelOutcome(order_id, "cancelled" if by_key else "nothing_to_cancel")

    found = _select(connection, shipments.c.order_id == order_id)
    if not found:
        record_compensated(
            connection, compensated_orders, order_id=order_id, idempotency_key=idempotency_key
        )
        return CancelOutcome(order_id, "nothing_to_cancel")
    active = [shipment for shipment in found if shipment.status == "created"]
    if not active:
        return CancelOutcome(order_id, "cancelled")
    shipment = active[0]
    cancelled = write_once(
        connection,
        shipments.update()
        .where(shipments.c.id == shipment.id)
        .where(shipments.c.order_id == order_id)
        .values(
            status="cancelled",
            cancelled_at=datetime.now(UTC),
            cancel_idempotency_key=idempotency_key,
        ),
    )
    if not cancelled:
        raise key_reused()
    return CancelOutcome(order_id, "cancelled")


def list_shipments(connection: Connection, *, order_id: str) -> list[Shipment]:
    return _select(connection, shipments.c.order_id == order_id)


def _one(connection: Connection, condition: sa.ColumnElement[bool]) -> Shipment | None:
    found = _select(connection, condition)
    return found[0] if found else None


def _select(connection: Connection, condition: sa.ColumnElement[bool]) -> list[Shipment]:
    """Matching shipments, oldest first."""
    query = sa.select(shipments).where(condition).order_by(shipments.c.created_at, shipments.c.id)
    return [
        Shipment(
            row.id,
            row.order_id,
            row.status,
            Address(row.street, row.city, row.state, row.postal_code, row.country),
        )
        for row in connection.execute(query).all()
    ]


def _replay(stored: Shipment, order_id: str, address: Address) -> Shipment:
    if (stored.order_id, stored.address) != (order_id, address):
        raise key_reused()
    # The first answer said "created"; a replay says the same even if cancelled since.
    return replace(stored, status="created")


def _already_shipped() -> BusinessError:
    return BusinessError(
        409, "already_shipped", "A shipment already exists for this order under another key."
    )
