"""Reserving and releasing stock. Plain synchronous functions that take the caller's
connection first (``Database.run`` passes it) and never commit.

A reservation decrements every line with one conditional UPDATE each
(``available = available - q WHERE available >= q``): the database checks and writes
in one step, so two concurrent reservations can never both take the last unit, on
SQLite or PostgreSQL. Lines are taken in product order so concurrent reservations lock
rows in the same order and cannot deadlock. If any line fails, the caller's transaction
rolls back and no line stays decremented.

Stock only ever moves by relative UPDATEs (a reservation takes, a release or a restock
adds), so every unit can be accounted for; only an administrator's ``set_available``
overwrites the level.

Keys, replays, one reservation per order and tombstones are the participants' shared
protocol (:class:`checkout.common.effects.EffectLedger`), which calls :func:`reserve`
only for an order that may reserve and :func:`release` only for one that has a
reservation. A release undoes one reservation per release key.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.refusals import BusinessError
from checkout.common.tombstones import write_once
from checkout.inventory.tables import products, reservation_lines, reservations

MAX_STOCK = 1_000_000_000
"""The highest stock level of a product: far from the database's integer limit."""


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class Reservation:
    id: str
    order_id: str
    status: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class ReleaseOutcome:
    order_id: str
    status: str  # "released" | "nothing_to_release"


def merge_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """One line per product, quantities summed, in product order."""
    totals: Counter[str] = Counter()
    for line in lines:
        totals[line.product_id] += line.quantity
    return tuple(Line(product, totals[product]) for product in sorted(totals))


def reserve(
    connection: Connection, *, order_id: str, lines: Iterable[Line], idempotency_key: str
) -> Reservation:
    """Take every line's quantity out of stock, all or nothing, storing
    ``idempotency_key`` with the reservation."""
    merged = merge_lines(lines)
    reservation = Reservation(str(uuid.uuid4()), order_id, "reserved", merged)
    connection.execute(
        reservations.insert().values(
            id=reservation.id,
            order_id=order_id,
            status="reserved",
            idempotency_key=idempotency_key,
            created_at=datetime.now(UTC),
        )
    )
    for line in merged:
        _take(connection, line)
    connection.execute(
        reservation_lines.insert(),
        [{"reservation_id": reservation.id, **line.__dict__} for line in merged],
    )
    return reservation


def release(connection: Connection, *, order_id: str, idempotency_key: str) -> ReleaseOutcome:
    """Put back the stock of the order's oldest reservation still held, exactly what it
    took.

    When every reservation of the order is released already (under another release
    key) the answer says so and nothing changes; with no reservation at all there is
    nothing to release. Nothing in the request says how much to put back, so a release
    can never return more than was taken.
    """
    found = list_reservations(connection, order_id=order_id)
    if not found:
        return ReleaseOutcome(order_id, "nothing_to_release")
    held = [reservation for reservation in found if reservation.status == "reserved"]
    if not held:
        return ReleaseOutcome(order_id, "released")
    reservation = held[0]
    for line in reservation.lines:
        connection.execute(
            products.update()
            .where(products.c.product_id == line.product_id)
            .values(available=products.c.available + line.quantity)
        )
    connection.execute(
        reservations.update()
        .where(reservations.c.id == reservation.id)
        .values(
            status="released",
            released_at=datetime.now(UTC),
            release_idempotency_key=idempotency_key,
        )
    )
    return ReleaseOutcome(order_id, "released")


def list_reservations(connection: Connection, *, order_id: str) -> list[Reservation]:
    """The order's reservations, oldest first."""
    query = (
        sa.select(reservations.c.id, reservations.c.order_id, reservations.c.status)
        .where(reservations.c.order_id == order_id)
        .order_by(reservations.c.created_at, reservations.c.id)
    )
    found = []
    for row in connection.execute(query).all():
        lines = connection.execute(
            sa.select(reservation_lines.c.product_id, reservation_lines.c.quantity)
            .where(reservation_lines.c.reservation_id == row.id)
            .order_by(reservation_lines.c.product_id)
        )
        found.append(
            Reservation(row.id, row.order_id, row.status, tuple(Line(*line) for line in lines))
        )
    return found


def available(connection: Connection, *, product_id: str) -> int | None:
    query = sa.select(products.c.available).where(products.c.product_id == product_id)
    value: int | None = connection.scalar(query)
    return value


def set_available(connection: Connection, *, product_id: str, available: int) -> None:
    """Create the product or overwrite its stock level (an administrator's correction)."""
    update = (
        products.update().where(products.c.product_id == product_id).values(available=available)
    )
    if connection.execute(update).rowcount:
        return
    insert = products.insert().values(product_id=product_id, available=available)
    if not write_once(connection, insert):
        connection.execute(update)  # created concurrently: overwrite it


def restock(connection: Connection, *, product_id: str, quantity: int) -> int:
    """Add ``quantity`` units to the product's stock; its new level.

    One UPDATE adds to the level as the database has it, so a restock that races
    reservations and releases loses none of their units and none of its own: what was
    received is always the level plus what is held. Overwriting the level instead (as
    ``set_available`` does) would undo whatever happened since it was read.
    """
    added = connection.execute(
        products.update()
        .where(products.c.product_id == product_id)
        .where(products.c.available <= MAX_STOCK - quantity)
        .values(available=products.c.available + quantity)
        .returning(products.c.available)
    ).first()
    if added is not None:
        level: int = added.available
        return level
    stock = available(connection, product_id=product_id)
    if stock is None:
        raise BusinessError(
            404,
            "unknown_product",
            f"There is no product {product_id!r}; create it with PUT /products/{product_id}.",
            product_id=product_id,
        )
    raise BusinessError(
        409,
        "stock_limit",
        f"{product_id!r} has {stock} units; {quantity} more would pass the limit of {MAX_STOCK}.",
        product_id=product_id,
    )


def _take(connection: Connection, line: Line) -> None:
    taken = connection.execute(
        products.update()
        .where(products.c.product_id == line.product_id)
        .where(products.c.available >= line.quantity)
        .values(available=products.c.available - line.quantity)
    )
    if taken.rowcount == 1:
        return
    stock = available(connection, product_id=line.product_id)
    if stock is None:
        raise BusinessError(
            409,
            "unknown_product",
            f"There is no product {line.product_id!r}.",
            product_id=line.product_id,
        )
    raise BusinessError(
        409,
        "insufficient_stock",
        f"Only {stock} of {line.product_id!r} available; {line.quantity} requested.",
        product_id=line.product_id,
    )


def already_reserved() -> BusinessError:
    return BusinessError(
        409, "already_reserved", "Stock was already reserved for this order under another key."
    )
