"""Many customers racing for the last units: stock is sold exactly once, never below zero."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.e2e.api import CheckoutApi, item, order_body, unique

pytestmark = pytest.mark.e2e

STOCK = 50
ORDERS = 200


async def sample_stock(api: CheckoutApi, product_id: str, stop: asyncio.Event) -> list[int]:
    """The product's stock, read again and again until ``stop``, on its own connection."""
    seen: list[int] = []
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            response = await client.get(api.url("inventory", f"/products/{product_id}"))
            assert response.status_code == 200, response.text
            seen.append(response.json()["available"])
            await asyncio.sleep(0.02)
    return seen


async def test_concurrent_orders_sell_exactly_the_stock_and_refund_the_rest(
    api: CheckoutApi,
) -> None:
    product = unique("product")
    await api.set_stock(product, STOCK)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_stock(api, product, stop))

    try:
        orders = await asyncio.gather(
            *(
                api.place(order_body(customer_id=unique("cust"), items=[item(product, 1)]))
                for _ in range(ORDERS)
            )
        )
    finally:
        stop.set()
        samples = await sampler

    assert Counter(o["status"] for o in orders) == {
        "completed": STOCK,
        "cancelled": ORDERS - STOCK,
    }
    cancelled = [o for o in orders if o["status"] == "cancelled"]
    assert {(o["failure"]["step"], o["failure"]["code"]) for o in cancelled} == {
        ("inventory", "insufficient_stock")
    }
    assert await api.stock(product) == 0
    assert samples, "the stock was never sampled"
    assert min(samples) >= 0
    payments = await asyncio.gather(*(api.payments(o["id"]) for o in orders))
    statuses = Counter(
        (order["status"], tuple(p["status"] for p in paid))
        for order, paid in zip(orders, payments, strict=True)
    )
    assert statuses == {
        ("completed", ("captured",)): STOCK,
        ("cancelled", ("refunded",)): ORDERS - STOCK,
    }
