"""The rules the chaos run and the simulator hold the books to, one broken at a time."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from checkout.books import InventoryBook, Ledger, OrderBook, PaymentBook, ShippingBook, judge

DONE, UNDONE = "o-done", "o-undone"

CLEAN = Ledger(
    orders=OrderBook(
        statuses={DONE: "completed", UNDONE: "compensated"},
        totals={DONE: Decimal("20.00"), UNDONE: Decimal("5.00")},
        items=[(DONE, "p", 2), (UNDONE, "p", 1)],
    ),
    payment=PaymentBook(
        charges=[(DONE, Decimal("20.00")), (UNDONE, Decimal("5.00"))],
        refunds=[(UNDONE, Decimal("5.00"))],
    ),
    inventory=InventoryBook(available={"p": 8}, reservations=[DONE, UNDONE], held=[(DONE, "p", 2)]),
    shipping=ShippingBook(shipments=[(DONE, "created")]),
)
RECEIVED = {"p": 10}


def violations(ledger: Ledger, received: dict[str, int] = RECEIVED) -> list[str]:
    return judge(ledger, stock_received=received, accepted={DONE, UNDONE}).violations


def test_books_that_add_up_break_no_rule() -> None:
    assert violations(CLEAN) == []


def test_a_restock_counts_as_stock_received() -> None:
    restocked = replace(CLEAN, inventory=replace(CLEAN.inventory, available={"p": 13}))

    assert violations(restocked, {"p": 15}) == []
    assert violations(restocked) == ["product p: stock received 10 != available 13 + sold 2"]


def test_stock_held_for_a_cancelled_order_is_a_violation() -> None:
    held = [*CLEAN.inventory.held, (UNDONE, "p", 1)]
    ledger = replace(CLEAN, inventory=replace(CLEAN.inventory, held=held, available={"p": 7}))

    assert f"order {UNDONE} (compensated) still holds stock" in violations(ledger)


def test_a_second_charge_is_an_effect_applied_twice() -> None:
    charges = [*CLEAN.payment.charges, (DONE, Decimal("20.00"))]
    ledger = replace(CLEAN, payment=replace(CLEAN.payment, charges=charges))

    found = violations(ledger)

    assert f"order {DONE}: 2 payments (an effect applied twice)" in found
    assert any("payments net of refunds are 40.00" in v for v in found)


def test_a_live_shipment_for_a_cancelled_order_is_a_violation() -> None:
    ledger = replace(
        CLEAN, shipping=ShippingBook(shipments=[(DONE, "created"), (UNDONE, "created")])
    )

    assert violations(ledger) == [f"order {UNDONE} (compensated): 1 live shipments, expected 0"]


def test_a_saga_waiting_for_an_operator_is_a_violation() -> None:
    orders = replace(
        CLEAN.orders,
        statuses={DONE: "completed", UNDONE: "failed"},
        stuck={UNDONE: {"step": "payment"}},
    )

    assert f"order {UNDONE}: saga ended failed ({{'step': 'payment'}})" in violations(
        replace(CLEAN, orders=orders)
    )


def test_a_payment_still_waiting_for_its_holder_is_a_violation() -> None:
    payment = replace(CLEAN.payment, awaiting=[UNDONE])

    assert violations(replace(CLEAN, payment=payment)) == [
        f"order {UNDONE} (compensated): its payment still waits for a confirmation"
    ]
