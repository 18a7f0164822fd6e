"""Listing orders: a customer sees their own with their token; a guessed id sees nothing."""

from __future__ import annotations

import pytest

from tests.integration.checkout.conftest import ADMIN, Service
from tests.integration.checkout.hostile.test_orders import order, place, raw_json


async def placed_token(orders: Service, customer_id: str) -> tuple[str, str]:
    response = await place(orders.client, raw_json(order(customer_id=customer_id)))
    assert response.status_code == 201, response.text
    return response.json()["id"], response.headers["Customer-Token"]


async def test_a_customer_lists_their_own_orders_with_their_token(orders: Service) -> None:
    order_id, token = await placed_token(orders, "alice")

    listed = await orders.client.get(
        "/orders", params={"customer_id": "alice"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == [order_id]


@pytest.mark.parametrize("who", ["nobody", "bob"])
async def test_knowing_a_customer_id_is_not_enough_to_list_their_orders(
    orders: Service, who: str
) -> None:
    await placed_token(orders, "alice")
    _, bobs_token = await placed_token(orders, "bob")
    headers = {"Authorization": f"Bearer {bobs_token}"} if who == "bob" else {}

    response = await orders.client.get("/orders", params={"customer_id": "alice"}, headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "customer_token_required"
    assert "alice" not in response.text


async def test_the_admin_token_lists_any_customer(orders: Service) -> None:
    order_id, _ = await placed_token(orders, "carol")

    listed = await orders.client.get("/orders", params={"customer_id": "carol"}, headers=ADMIN)

    assert [o["id"] for o in listed.json()["items"]] == [order_id]
