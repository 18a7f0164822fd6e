"""Creating and cancelling shipments: the shipping rules alone. Functions take the
caller's connection and never commit.

Keys, replays, one shipment per order and tombstones are the participants' shared
protocol (:class:`checkout.common.effects.EffectLedger`), which calls
:func:`create_shipment` only for an order that may ship and :func:`cancel_shipment`
only for one that has a shipment. A cancellation undoes one shipment per cancel key,
and only ever a shipment of the order it names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.refusals import BusinessError
from checkout.shipping.tables import shipments

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
    connection: Connection, *, order_id: str, address: Address, idempotency_key: str
) -> Shipment:
    """Ship the order to ``address``, storing ``idempotency_key`` with the shipment."""
    if address.country in UNDELIVERABLE_COUNTRIES:
        raise BusinessError(422, "undeliverable", f"We do not ship to {address.country!r}.")
    shipment = Shipment(str(uuid.uuid4()), order_id, "created", address)
    connection.execute(
        shipments.insert().values(
            id=shipment.id,
            order_id=order_id,
            status="created",
            idempotency_key=idempotency_key,
            created_at=datetime.now(UTC),
            **address.__dict__,
        )
    )
    return shipment


def cancel_shipment(
    connection: Connection, *, order_id: str, idempotency_key: str
) -> CancelOutcome:
    """Cancel the order's oldest shipment still under way.

    When every shipment of the order is cancelled already (under another cancel key)
    the answer says so and nothing changes; with no shipment at all there is nothing
    to cancel.
    """
    found = list_shipments(connection, order_id=order_id)
    if not found:
        return CancelOutcome(order_id, "nothing_to_cancel")
    active = [shipment for shipment in found if shipment.status == "created"]
    if not active:
        return CancelOutcome(order_id, "cancelled")
    connection.execute(
        shipments.update()
        .where(shipments.c.id == active[0].id)
        .where(shipments.c.order_id == order_id)
        .values(
            status="cancelled",
            cancelled_at=datetime.now(UTC),
            cancel_idempotency_key=idempotency_key,
        )
    )
    return CancelOutcome(order_id, "cancelled")


def list_shipments(connection: Connection, *, order_id: str) -> list[Shipment]:
    """The order's shipments, oldest first."""
    query = (
        sa.select(shipments)
        .where(shipments.c.order_id == order_id)
        .order_by(shipments.c.created_at, shipments.c.id)
    )
    return [
        Shipment(
            row.id,
            row.order_id,
            row.status,
            Address(row.street, row.city, row.state, row.postal_code, row.country),
        )
        for row in connection.execute(query).all()
    ]


def already_shipped() -> BusinessError:
    return BusinessError(
        409, "already_shipped", "A shipment already exists for this order under another key."
    )
