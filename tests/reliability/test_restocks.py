"""The chaos run's restocks are counted exactly, even when an answer is lost."""

from __future__ import annotations

import json
import random

import httpx

from checkout.chaos.restocks import Restocker, stock_received


async def no_wait(_seconds: float) -> None:
    pass


class Inventory:
    """``POST /products/{id}/restock`` that loses its first answer, then answers."""

    def __init__(self) -> None:
        self.level = 0
        self.keys: list[str] = []
        self.applied: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        if key not in self.applied:
            self.applied.add(key)
            self.level += json.loads(request.content)["quantity"]
        if len(self.keys) == 1:
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return httpx.Response(200, json={"product_id": "scarce", "available": self.level})


async def test_a_restock_whose_answer_was_lost_is_sent_again_and_counted_once() -> None:
    inventory = Inventory()
    async with httpx.AsyncClient(transport=httpx.MockTransport(inventory)) as client:
        restocker = Restocker(
            client,
            inventory_url="http://inventory",
            admin={},
            rng=random.Random(1),
            product="scarce",
            sleep=no_wait,
        )

        await restocker.restock(5)

    assert len(inventory.keys) == 2 and len(set(inventory.keys)) == 1
    assert (restocker.restocks, restocker.units, inventory.level) == (1, 5, 5)
    assert stock_received({"scarce": 8, "plenty": 100}, restocker) == {"scarce": 13, "plenty": 100}
