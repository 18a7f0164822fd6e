"""The checkout's books, and the rules they must obey once nothing is pending.

The chaos run reads them from the four real databases, the simulator from its
in-process participants; both judge them here, with the same rules:

- every saga is terminal, and none waits for an operator (``failed``);
- per order, payments net of refunds equal the total when completed, 0 otherwise (a
  payment whose holder never confirmed it, declined or voided, took no money);
- no payment still waits for its holder's confirmation;
- per product, stock received (initial plus restocks) = available + units of
  completed orders;
- no stock held for an order that did not complete;
- exactly one live shipment per completed order, none otherwise;
- at most one payment, reservation and shipment per order: with one idempotency key
  per step and order, a second one is an effect applied twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from checkout.inventory.tables import products, reservation_lines, reservations
from checkout.orders.tables import order_items, orders
from checkout.payment.tables import MONEY_TAKEN, payments, refunds
from checkout.shipping.tables import shipments
from sagakit.store import sagas


@dataclass(frozen=True, kw_only=True)
class OrderBook:
    statuses: Mapping[str, str]
    """Each order's saga status, by order id (the saga's id is the order's)."""
    stuck: Mapping[str, Any] = field(default_factory=dict)
    """Why a compensation gave up, for the sagas that ended ``failed``."""
    totals: Mapping[str, Decimal]
    items: Sequence[tuple[str, str, int]]
    """(order id, product id, quantity) for every line of every order."""


@dataclass(frozen=True, kw_only=True)
class PaymentBook:
    charges: Sequence[tuple[str, Decimal]]
    """(order id, amount) of every payment that took money (refunded since or not)."""
    refunds: Sequence[tuple[str, Decimal]]
    awaiting: Sequence[str] = ()
    """The order id of every payment still waiting for its holder's confirmation."""


@dataclass(frozen=True, kw_only=True)
class InventoryBook:
    available: Mapping[str, int]
    reservations: Sequence[str]
    """The order id of every reservation, released or not."""
    held: Sequence[tuple[str, str, int]]
    """(order id, product id, quantity) of every line still reserved."""


@dataclass(frozen=True, kw_only=True)
class ShippingBook:
    shipments: Sequence[tuple[str, str]]
    """(order id, status) of every shipment."""


@dataclass(frozen=True, kw_only=True)
class Ledger:
    orders: OrderBook
    payment: PaymentBook
    inventory: InventoryBook
    shipping: ShippingBook


@dataclass
class Books:
    statuses: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def violate(self, message: str) -> None:
        self.violations.append(message)


def judge(ledger: Ledger, *, stock_received: Mapping[str, int], accepted: set[str]) -> Books:
    """Every rule above broken by ``ledger``; ``accepted`` are the order ids customers
    were given, ``stock_received`` each watched product's initial stock plus restocks."""
    books = Books()
    book = ledger.orders
    books.statuses.update(book.statuses.values())
    for missing in sorted(accepted - set(book.totals)):
        books.violate(f"order {missing} was accepted but is not in the orders database")
    for order_id, status in book.statuses.items():
        if status not in ("completed", "compensated"):
            books.violate(f"order {order_id}: saga ended {status} ({book.stuck.get(order_id)})")
    completed = {order_id for order_id, s in book.statuses.items() if s == "completed"}
    _judge_payments(books, ledger, completed)
    _judge_stock(books, ledger, completed, stock_received)
    _judge_shipments(books, ledger, completed)
    return books


def _judge_payments(books: Books, ledger: Ledger, completed: set[str]) -> None:
    net: defaultdict[str, Decimal] = defaultdict(Decimal)
    for order_id, amount in ledger.payment.charges:
        net[order_id] += amount
    for order_id, amount in ledger.payment.refunds:
        net[order_id] -= amount
    _at_most_one(books, "payment", Counter(order_id for order_id, _ in ledger.payment.charges))
    for order_id in sorted(set(ledger.payment.awaiting)):
        status = ledger.orders.statuses.get(order_id)
        books.violate(f"order {order_id} ({status}): its payment still waits for a confirmation")
    for order_id, total in ledger.orders.totals.items():
        expected = total if order_id in completed else Decimal("0")
        if net.get(order_id, Decimal("0")) != expected:
            books.violate(
                f"order {order_id} ({ledger.orders.statuses.get(order_id)}): payments net of "
                f"refunds are {net.get(order_id, 0)}, expected {expected}"
            )


def _judge_stock(
    books: Books, ledger: Ledger, completed: set[str], stock_received: Mapping[str, int]
) -> None:
    inventory = ledger.inventory
    _at_most_one(books, "reservation", Counter(inventory.reservations))
    sold: Counter[str] = Counter()
    for order_id, product_id, quantity in ledger.orders.items:
        if order_id in completed:
            sold[product_id] += quantity
    for product_id, received in stock_received.items():
        available = inventory.available.get(product_id, 0)
        if received != available + sold[product_id]:
            books.violate(
                f"product {product_id}: stock received {received} != available "
                f"{available} + sold {sold[product_id]}"
            )
    for order_id in sorted({order_id for order_id, _, _ in inventory.held} - completed):
        status = ledger.orders.statuses.get(order_id)
        books.violate(f"order {order_id} ({status}) still holds stock")


def _judge_shipments(books: Books, ledger: Ledger, completed: set[str]) -> None:
    shipped = ledger.shipping.shipments
    _at_most_one(books, "shipment", Counter(order_id for order_id, _ in shipped))
    live = Counter(order_id for order_id, status in shipped if status == "created")
    for order_id in ledger.orders.totals:
        expected = 1 if order_id in completed else 0
        if live[order_id] != expected:
            books.violate(
                f"order {order_id} ({ledger.orders.statuses.get(order_id)}): {live[order_id]} "
                f"live shipments, expected {expected}"
            )


def _at_most_one(books: Books, effect: str, per_order: Counter[str]) -> None:
    for order_id, count in per_order.items():
        if count > 1:
            books.violate(f"order {order_id}: {count} {effect}s (an effect applied twice)")


def read_orders(connection: Connection) -> OrderBook:
    """Each order's status is its saga's, or, once retention pruned the saga, the
    outcome kept on the order."""
    status = func.coalesce(sagas.c.status, orders.c.outcome).label("status")
    rows = connection.execute(
        select(orders.c.id, status, sagas.c.compensation_failure).select_from(
            orders.outerjoin(sagas, sagas.c.id == orders.c.id)
        )
    )
    statuses, stuck = {}, {}
    for row in rows:
        statuses[row.id] = row.status
        stuck[row.id] = row.compensation_failure
    query = select(order_items.c.order_id, order_items.c.product_id, order_items.c.quantity)
    return OrderBook(
        statuses=statuses,
        stuck=stuck,
        totals=dict(connection.execute(select(orders.c.id, orders.c.total)).all()),
        items=connection.execute(query).all(),
    )


def read_payments(connection: Connection) -> PaymentBook:
    refunded = select(payments.c.order_id, refunds.c.amount).join(
        refunds, refunds.c.payment_id == payments.c.id
    )
    charged = select(payments.c.order_id, payments.c.amount).where(
        payments.c.status.in_(MONEY_TAKEN)
    )
    awaiting = select(payments.c.order_id).where(payments.c.status == "requires_confirmation")
    return PaymentBook(
        charges=connection.execute(charged).all(),
        refunds=connection.execute(refunded).all(),
        awaiting=connection.execute(awaiting).scalars().all(),
    )


def read_inventory(connection: Connection) -> InventoryBook:
    held = (
        select(
            reservations.c.order_id, reservation_lines.c.product_id, reservation_lines.c.quantity
        )
        .join(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id)
        .where(reservations.c.status == "reserved")
    )
    stock = select(products.c.product_id, products.c.available)
    return InventoryBook(
        available=dict(connection.execute(stock).all()),
        reservations=connection.execute(select(reservations.c.order_id)).scalars().all(),
        held=connection.execute(held).all(),
    )


def read_shipments(connection: Connection) -> ShippingBook:
    query = select(shipments.c.order_id, shipments.c.status)
    return ShippingBook(shipments=connection.execute(query).all())
