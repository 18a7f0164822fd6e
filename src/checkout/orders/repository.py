"""Reading and writing orders. Reads take the caller's connection; writes are rows for the
saga store to insert with the order's saga."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from checkout.orders.tables import order_items, orders
from sagakit import Rows, SagaState
from sagakit.store import sagas

ENDED_SAGA_STATUS = {"completed": "completed", "cancelled": "compensated", "failed": "failed"}


@dataclass(frozen=True, kw_only=True)
class OrderItem:
    product_id: str
    name: str
    price: Decimal
    quantity: int


@dataclass(frozen=True, kw_only=True)
class Order:
    id: str
    customer_id: str
    total: Decimal
    payment_method: str
    shipping_address: dict[str, str]
    items: tuple[OrderItem, ...]
    created_at: datetime
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    outcome: Outcome | None = None
    """Set once the saga's history is pruned: how it ended."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """A finished saga's end, kept on its order when its history is pruned."""

    status: str
    failure: dict[str, str] | None
    history_pruned_at: datetime


def order_rows(order: Order) -> tuple[Rows, Rows]:
    """The order's row and its lines, for the saga store to insert with the order's saga
    (``SagaEngine.start(alongside=...)``): both stored or neither."""
    order_row = {
        "id": order.id,
        "customer_id": order.customer_id,
        "total": order.total,
        "payment_method": order.payment_method,
        "shipping_address": order.shipping_address,
        "idempotency_key": order.idempotency_key,
        "request_fingerprint": order.request_fingerprint,
        "created_at": order.created_at,
    }
    lines = [
        {
            "order_id": order.id,
            "line": line,
            "product_id": item.product_id,
            "name": item.name,
            "price": item.price,
            "quantity": item.quantity,
        }
        for line, item in enumerate(order.items, start=1)
    ]
    return Rows(orders, [order_row]), Rows(order_items, lines)


async def get_order(connection: AsyncConnection, order_id: str) -> Order | None:
    found = await _load(connection, [orders.c.id == order_id])
    return found[0] if found else None


async def get_order_by_key(connection: AsyncConnection, idempotency_key: str) -> Order | None:
    found = await _load(connection, [orders.c.idempotency_key == idempotency_key])
    return found[0] if found else None


async def list_orders(
    connection: AsyncConnection,
    *,
    customer_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Order], int]:
    """A page of orders, newest first, and how many match in all."""
    conditions: list[Any] = []
    if customer_id is not None:
        conditions.append(orders.c.customer_id == customer_id)
    if status is not None:
        conditions.append(_with_status(status))
    joined = orders.outerjoin(sagas, sagas.c.id == orders.c.id)
    count = select(func.count()).select_from(joined).where(*conditions)
    total = (await connection.execute(count)).scalar_one()
    page = await _load(connection, conditions, joined=True, limit=limit, offset=offset)
    return page, total


def _with_status(status: str) -> ColumnElement[bool]:
    """Orders whose status is ``status``, as :func:`checkout.orders.views.order_status`
    tells it from their saga's, or from the outcome kept when the saga was pruned."""
    waiting = and_(sagas.c.status == "running", sagas.c.wait_until.is_not(None))
    if status == "awaiting_confirmation":
        return waiting
    if status == "pending":
        return and_(sagas.c.status.in_(("running", "compensating")), not_(waiting))
    return func.coalesce(sagas.c.status, orders.c.outcome) == ENDED_SAGA_STATUS[status]


async def _load(
    connection: AsyncConnection,
    conditions: Sequence[Any],
    *,
    joined: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Order]:
    source = orders.outerjoin(sagas, sagas.c.id == orders.c.id) if joined else orders
    query = (
        select(orders)
        .select_from(source)
        .where(*conditions)
        .order_by(orders.c.created_at.desc(), orders.c.id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await connection.execute(query)).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    item_rows = (
        await connection.execute(
            select(order_items)
            .where(order_items.c.order_id.in_(ids))
            .order_by(order_items.c.order_id, order_items.c.line)
        )
    ).all()
    items: dict[str, list[OrderItem]] = {order_id: [] for order_id in ids}
    for item in item_rows:
        items[item.order_id].append(
            OrderItem(
                product_id=item.product_id, name=item.name, price=item.price, quantity=item.quantity
            )
        )
    return [
        Order(
            id=row.id,
            customer_id=row.customer_id,
            total=row.total,
            payment_method=row.payment_method,
            shipping_address=row.shipping_address,
            items=tuple(items[row.id]),
            created_at=row.created_at,
            idempotency_key=row.idempotency_key,
            request_fingerprint=row.request_fingerprint,
            outcome=_outcome(row),
        )
        for row in rows
    ]


def _outcome(row: Any) -> Outcome | None:
    if row.history_pruned_at is None:
        return None
    return Outcome(
        status=row.outcome, failure=row.outcome_failure, history_pruned_at=row.history_pruned_at
    )


async def keep_outcomes(connection: AsyncConnection, states: Sequence[SagaState]) -> None:
    """Copy each pruned saga's outcome onto its order, in the transaction that deletes
    the saga's history (``Pruner(on_prune=...)``): both happen or neither."""
    pruned_at = datetime.now(UTC)
    await connection.execute(
        update(orders)
        .where(orders.c.id == bindparam("saga_id"))
        .values(
            outcome=bindparam("status"),
            outcome_failure=bindparam("failure"),
            history_pruned_at=pruned_at,
        ),
        [
            {
                "saga_id": state.id,
                "status": state.status.value,
                "failure": state.failure.to_json() if state.failure else None,
            }
            for state in states
        ],
    )
