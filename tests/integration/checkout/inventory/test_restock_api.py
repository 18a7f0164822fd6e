"""``POST /products/{id}/restock``: units added atomically, so every unit can be counted."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from checkout.inventory.domain import MAX_STOCK
from tests.integration.checkout.conftest import ADMIN, SERVICE, Service
from tests.integration.checkout.inventory.test_inventory_api import (
    post,
    reservation,
    set_stock,
    stock,
)


async def restock(
    client: httpx.AsyncClient, product_id: str, quantity: Any, *, key: str | None = None
) -> httpx.Response:
    headers = {**ADMIN, **({"Idempotency-Key": key} if key else {})}
    return await client.post(
        f"/products/{product_id}/restock", json={"quantity": quantity}, headers=headers
    )


async def test_restock_adds_units_and_answers_the_new_level(inventory: Service) -> None:
    response = await restock(inventory.client, "product1", 25)

    assert response.status_code == 200
    assert response.json() == {"product_id": "product1", "available": 1025}
    assert await stock(inventory.client, "product1") == 1025


async def test_restocks_racing_reservations_lose_no_unit(inventory: Service) -> None:
    await set_stock(inventory.client, "scarce", 10)
    reservations = [
        post(inventory.client, "/reservations", reservation(("scarce", 2)), key=f"k-{n}")
        for n in range(30)
    ]
    restocks = [restock(inventory.client, "scarce", 3) for _ in range(20)]

    answers = await asyncio.gather(*reservations, *restocks)

    reserved = sum(2 for answer in answers[:30] if answer.status_code == 201)
    assert all(answer.status_code == 200 for answer in answers[30:])
    assert await stock(inventory.client, "scarce") == 10 + 20 * 3 - reserved


async def test_a_restock_retried_under_its_key_adds_once(inventory: Service) -> None:
    first = await restock(inventory.client, "product2", 7, key="restock-1")
    replay = await restock(inventory.client, "product2", 7, key="restock-1")

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json() == first.json() == {"product_id": "product2", "available": 1007}
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await stock(inventory.client, "product2") == 1007


@pytest.mark.parametrize(("product_id", "quantity"), [("product3", 8), ("product4", 7)])
async def test_a_restock_key_reused_for_another_restock_is_refused(
    inventory: Service, product_id: str, quantity: int
) -> None:
    await restock(inventory.client, "product3", 7, key="restock-1")

    response = await restock(inventory.client, product_id, quantity, key="restock-1")

    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"
    assert await stock(inventory.client, product_id) == (1007 if product_id == "product3" else 1000)


async def test_restocking_an_unknown_product_is_refused(inventory: Service) -> None:
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"

    response = await restock(inventory.client, ghost, 5)

    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "unknown_product"
    assert (await inventory.client.get(f"/products/{ghost}")).status_code == 404


async def test_a_restock_past_the_stock_limit_is_refused_and_adds_nothing(
    inventory: Service,
) -> None:
    await set_stock(inventory.client, "full", MAX_STOCK - 5)

    response = await restock(inventory.client, "full", 6)

    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "stock_limit"
    assert await stock(inventory.client, "full") == MAX_STOCK - 5
    assert (await restock(inventory.client, "full", 5)).json()["available"] == MAX_STOCK


async def test_restock_needs_the_admin_token(inventory: Service) -> None:
    for headers in ({}, SERVICE):
        response = await inventory.client.post(
            "/products/product5/restock", json={"quantity": 5}, headers=headers
        )
        assert response.status_code == 401
    assert await stock(inventory.client, "product5") == 1000


@pytest.mark.parametrize("quantity", [0, -1, MAX_STOCK + 1, "5", 1.5, None])
async def test_invalid_restock_quantity_is_refused(inventory: Service, quantity: object) -> None:
    response = await restock(inventory.client, "product6", quantity)

    assert response.status_code == 422
    assert await stock(inventory.client, "product6") == 1000
