"""The books the chaos run checks, read straight from the four databases.

After the run, with nothing pending:

- every saga is terminal, and none waits for an operator (``failed``);
- per order, payments net of refunds equal the total when completed, 0 otherwise;
- per product, initial stock = available + units of completed orders;
- exactly one live shipment per completed order, none otherwise;
- at most one payment, reservation and shipment per order: with one idempotency key
  per step and order, a second one is an effect applied twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.inventory.tables import products, reservation_lines, reservations
from checkout.orders.tables import order_items, orders
from checkout.payment.tables import payments, refunds
from checkout.shipping.tables import shipments
from sagakit.database import create_engine
from sagakit.tables import sagas


@dataclass
class Books:
    statuses: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def violate(self, message: str) -> None:
        self.violations.append(message)


async def pending_sagas(orders_url: str) -> int:
    engine = create_engine(orders_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).where(sagas.c.status.in_(("running", "compensating")))
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def check_books(
    urls: Mapping[str, str], *, initial_stock: Mapping[str, int], order_ids: set[str]
) -> Books:
    engines = {name: create_engine(url) for name, url in urls.items()}
    try:
        return await _check(engines, initial_stock, order_ids)
    finally:
        for engine in engines.values():
            await engine.dispose()


async def _check(
    engines: Mapping[str, AsyncEngine], initial_stock: Mapping[str, int], order_ids: set[str]
) -> Books:
    books = Books()
    async with engines["orders"].connect() as conn:
        rows = (
            await conn.execute(select(sagas.c.id, sagas.c.status, sagas.c.compensation_failure))
        ).all()
        totals = dict((await conn.execute(select(orders.c.id, orders.c.total))).all())
        items = (
            await conn.execute(
                select(order_items.c.order_id, order_items.c.product_id, order_items.c.quantity)
            )
        ).all()
    status = {row.id: row.status for row in rows}
    stuck = {row.id: row.compensation_failure for row in rows}
    books.statuses.update(status.values())
    for missing in sorted(order_ids - set(totals)):
        books.violate(f"order {missing} was accepted but is not in the orders database")
    for order_id, saga_status in status.items():
        if saga_status not in ("completed", "compensated"):
            books.violate(f"order {order_id}: saga ended {saga_status} ({stuck[order_id]})")
    completed = {order_id for order_id, s in status.items() if s == "completed"}

    async with engines["payment"].connect() as conn:
        charged = (await conn.execute(select(payments.c.order_id, payments.c.amount))).all()
        refunded = (
            await conn.execute(
                select(payments.c.order_id, refunds.c.amount).join(
                    refunds, refunds.c.payment_id == payments.c.id
                )
            )
        ).all()
    net: defaultdict[str, Decimal] = defaultdict(Decimal)
    for order_id, amount in charged:
        net[order_id] += amount
    for order_id, amount in refunded:
        net[order_id] -= amount
    _at_most_one(books, "payment", Counter(order_id for order_id, _ in charged))
    for order_id, total in totals.items():
        expected = total if order_id in completed else Decimal("0")
        if net.get(order_id, Decimal("0")) != expected:
            books.violate(
                f"order {order_id} ({status.get(order_id)}): payments net of "
                f"refunds are {net.get(order_id, 0)}, expected {expected}"
            )

    async with engines["inventory"].connect() as conn:
        available = dict(
            (await conn.execute(select(products.c.product_id, products.c.available))).all()
        )
        reserved_orders = Counter((await conn.execute(select(reservations.c.order_id))).scalars())
        live_lines = (
            await conn.execute(
                select(
                    reservations.c.order_id,
                    reservation_lines.c.product_id,
                    reservation_lines.c.quantity,
                )
                .join(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id)
                .where(reservations.c.status == "reserved")
            )
        ).all()
    _at_most_one(books, "reservation", reserved_orders)
    sold: Counter[str] = Counter()
    for order_id, product_id, quantity in items:
        if order_id in completed:
            sold[product_id] += quantity
    for product_id, initial in initial_stock.items():
        if initial != available.get(product_id, 0) + sold[product_id]:
            books.violate(
                f"product {product_id}: initial stock {initial} != available "
                f"{available.get(product_id)} + sold {sold[product_id]}"
            )
    for order_id, _product, _quantity in live_lines:
        if order_id not in completed:
            books.violate(f"order {order_id} ({status.get(order_id)}) still holds stock")

    async with engines["shipping"].connect() as conn:
        shipped = (await conn.execute(select(shipments.c.order_id, shipments.c.status))).all()
    _at_most_one(books, "shipment", Counter(order_id for order_id, _ in shipped))
    live = Counter(order_id for order_id, s in shipped if s == "created")
    for order_id in totals:
        expected_live = 1 if order_id in completed else 0
        if live[order_id] != expected_live:
            books.violate(
                f"order {order_id} ({status.get(order_id)}): {live[order_id]} live "
                f"shipments, expected {expected_live}"
            )
    return books


def _at_most_one(books: Books, effect: str, per_order: Counter[str]) -> None:
    for order_id, count in per_order.items():
        if count > 1:
            books.violate(f"order {order_id}: {count} {effect}s (an effect applied twice)")
