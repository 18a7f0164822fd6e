"""The books at the end of a soak, when retention has deleted most of the history.

The chaos run reads each order's status from its saga and its lines from the orders
database. In a soak, finished sagas older than the retention are gone by the end (and
with them, perhaps, their orders' rows), while the payments, reservations and
shipments they made stay. So what the customers were finally answered stands in for
what was pruned: the status they were given, and the body they sent (the benchmark's
``order_body(index)``, rebuilt). Where the orders database still has an order, its
word is taken, and an answer it contradicts is a violation. Then the chaos run's rules
(:func:`checkout.books.judge`) judge the whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from checkout.bench.load import order_body
from checkout.books import (
    Books,
    Ledger,
    OrderBook,
    judge,
)
from checkout.chaos.invariants import read_ledger

CENT = Decimal("0.01")
SAGA_STATUS = {"completed": "completed", "cancelled": "compensated", "failed": "failed"}
"""An order's final status as its API says it, as its saga's."""


def with_answers(
    ledger: Ledger, *, statuses: Mapping[str, str], indexes: Mapping[str, int]
) -> tuple[Ledger, list[str]]:
    """``ledger`` with the answered orders the orders database no longer has, and the
    answers its sagas contradict."""
    kept = ledger.orders
    contradicted = [
        f"order {order_id}: answered {answer}, but its saga ended {kept.statuses[order_id]}"
        for order_id, answer in sorted(statuses.items())
        if order_id in kept.statuses and SAGA_STATUS.get(answer) != kept.statuses[order_id]
    ]
    merged = {order_id: SAGA_STATUS.get(answer, answer) for order_id, answer in statuses.items()}
    merged.update(kept.statuses)
    totals = dict(kept.totals)
    items = list(kept.items)
    for order_id, index in indexes.items():
        if order_id in kept.totals:
            continue
        lines = order_body(index)["items"]
        total = sum((Decimal(str(line["price"])) * line["quantity"] for line in lines), CENT * 0)
        totals[order_id] = total.quantize(CENT)  # as the orders database keeps it
        items.extend((order_id, line["product_id"], line["quantity"]) for line in lines)
    orders = OrderBook(statuses=merged, stuck=kept.stuck, totals=totals, items=items)
    return Ledger(
        orders=orders, payment=ledger.payment, inventory=ledger.inventory, shipping=ledger.shipping
    ), contradicted


def pruned(ledger: Ledger, statuses: Mapping[str, str]) -> int:
    """Answered orders whose saga the orders database no longer has."""
    return sum(order_id not in ledger.orders.statuses for order_id in statuses)


async def check_soak_books(
    urls: Mapping[str, str],
    *,
    statuses: Mapping[str, str],
    indexes: Mapping[str, int],
    stock_received: Mapping[str, int],
) -> tuple[Books, int]:
    """The books judged, and how many answered orders retention had pruned."""
    ledger = await read_ledger(urls)
    merged, contradicted = with_answers(ledger, statuses=statuses, indexes=indexes)
    books = judge(merged, stock_received=stock_received, accepted=set(statuses))
    books.violations[:0] = contradicted
    return books, pruned(ledger, statuses)
