"""What an order request must look like, and what it costs (OrderRequest, no HTTP)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from checkout.common.schemas import MAX_AMOUNT
from checkout.orders.schemas import MAX_ITEMS, OrderRequest


def item(**changes: Any) -> dict[str, Any]:
    return {"product_id": "product1", "name": "Widget", "price": 10.0, "quantity": 1, **changes}


def body(**changes: Any) -> dict[str, Any]:
    return {
        "customer_id": "cust123",
        "items": [item()],
        "shipping_address": {
            "street": "1 Main St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        "payment_method": "credit_card",
        **changes,
    }


def refusal(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Where each validation error points (its ``loc``)."""
    with pytest.raises(ValidationError) as refused:
        OrderRequest.model_validate(data)
    return [error["loc"] for error in refused.value.errors()]


def test_total_is_the_sum_of_price_times_quantity_as_decimal() -> None:
    request = OrderRequest.model_validate(
        body(items=[item(price=10.0, quantity=2), item(product_id="product2", price=15.0)])
    )

    total = request.total()

    assert isinstance(total, Decimal)
    assert total == Decimal("35.00")


def test_total_equal_to_the_payable_maximum_is_accepted() -> None:
    # 1 000 000.00 x 1000 = MAX_AMOUNT, each field within its own bounds.
    request = OrderRequest.model_validate(body(items=[item(price="1000000", quantity=1000)]))

    assert request.total() == MAX_AMOUNT


@pytest.mark.parametrize(
    "price",
    ["10.001", float("nan"), "NaN", 0, "0.00", -1, "-10.00"],
    ids=["three-decimals", "nan-float", "nan-string", "zero", "zero-decimal", "neg", "neg-str"],
)
def test_price_must_be_positive_with_at_most_two_decimals(price: object) -> None:
    assert refusal(body(items=[item(price=price)])) == [("items", 0, "price")]


@pytest.mark.parametrize(
    "quantity", [0, 10_001, 2.5, True], ids=["zero", "above-max", "fraction", "boolean"]
)
def test_quantity_must_be_a_whole_number_from_1_to_10000(quantity: object) -> None:
    assert refusal(body(items=[item(quantity=quantity)])) == [("items", 0, "quantity")]


@pytest.mark.parametrize("count", [0, MAX_ITEMS + 1], ids=["none", "too-many"])
def test_an_order_has_1_to_100_items(count: int) -> None:
    items = [item(product_id=f"product{n}") for n in range(count)]

    assert refusal(body(items=items)) == [("items",)]


def test_unknown_payment_method_is_refused() -> None:
    assert refusal(body(payment_method="bitcoin")) == [("payment_method",)]


def test_unexpected_field_is_refused() -> None:
    assert refusal(body(coupon="FREE")) == [("coupon",)]


def test_total_above_the_payable_maximum_is_refused() -> None:
    too_much = item(price="1000000", quantity=1001)

    with pytest.raises(ValidationError, match="total must not exceed"):
        OrderRequest.model_validate(body(items=[too_much]))
