"""The soak's books: what retention pruned from the orders database is taken from what
the customers were answered, and what it still has must agree with them."""

from __future__ import annotations

from decimal import Decimal

from checkout.bench.load import STOCK
from checkout.bench.soak.books import with_answers
from checkout.books import InventoryBook, Ledger, OrderBook, PaymentBook, ShippingBook, judge

PRUNED, KEPT = "o-pruned", "o-kept"
# order_body(0): 2 × bench-1 at 10.00 and 1 × bench-2 at 15.00, shipped;
# order_body(9): 2 × bench-10 and 1 × bench-1, to country XX: refused, compensated.
INDEXES = {PRUNED: 0, KEPT: 9}
ANSWERS = {PRUNED: "completed", KEPT: "cancelled"}
RECEIVED = dict.fromkeys(("bench-1", "bench-2", "bench-10"), STOCK)

LEDGER = Ledger(
    orders=OrderBook(  # retention deleted the first order's saga and rows
        statuses={KEPT: "compensated"},
        totals={KEPT: Decimal("35.00")},
        items=[(KEPT, "bench-10", 2), (KEPT, "bench-1", 1)],
    ),
    payment=PaymentBook(
        charges=[(PRUNED, Decimal("35.00")), (KEPT, Decimal("35.00"))],
        refunds=[(KEPT, Decimal("35.00"))],
    ),
    inventory=InventoryBook(
        available={"bench-1": STOCK - 2, "bench-2": STOCK - 1, "bench-10": STOCK},
        reservations=[PRUNED, KEPT],
        held=[(PRUNED, "bench-1", 2), (PRUNED, "bench-2", 1)],
    ),
    shipping=ShippingBook(shipments=[(PRUNED, "created")]),
)


def violations(ledger: Ledger, answers: dict[str, str] = ANSWERS) -> list[str]:
    merged, contradicted = with_answers(ledger, statuses=answers, indexes=INDEXES)
    judged = judge(merged, stock_received=RECEIVED, accepted=set(answers))
    return contradicted + judged.violations


def test_a_pruned_order_is_judged_by_its_answer_and_the_body_it_was_sent() -> None:
    merged, _ = with_answers(LEDGER, statuses=ANSWERS, indexes=INDEXES)

    assert merged.orders.statuses == {PRUNED: "completed", KEPT: "compensated"}
    assert str(merged.orders.totals[PRUNED]) == "35.00"
    assert violations(LEDGER) == []


def test_a_pruned_completed_order_that_took_no_money_is_a_violation() -> None:
    payment = PaymentBook(charges=[(KEPT, Decimal("35.00"))], refunds=LEDGER.payment.refunds)
    ledger = Ledger(
        orders=LEDGER.orders, payment=payment, inventory=LEDGER.inventory, shipping=LEDGER.shipping
    )

    assert violations(ledger) == [
        f"order {PRUNED} (completed): payments net of refunds are 0, expected 35.00"
    ]


def test_an_answer_the_orders_database_contradicts_is_a_violation() -> None:
    found = violations(LEDGER, {PRUNED: "completed", KEPT: "completed"})

    assert found[0] == f"order {KEPT}: answered completed, but its saga ended compensated"


def test_an_order_never_answered_final_is_judged_by_the_database() -> None:
    merged, contradicted = with_answers(
        LEDGER, statuses={**ANSWERS, KEPT: "pending"}, indexes=INDEXES
    )

    assert merged.orders.statuses[KEPT] == "compensated"
    assert contradicted == [f"order {KEPT}: answered pending, but its saga ended compensated"]
