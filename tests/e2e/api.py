"""A small client of the running checkout, so tests read as the business process."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

JSON = dict[str, Any]

SEED_ORDER: JSON = {
    "customer_id": "cust123",
    "items": [
        {"product_id": "product1", "name": "Product 1", "price": 10.0, "quantity": 2},
        {"product_id": "product2", "name": "Product 2", "price": 15.0, "quantity": 1},
    ],
    "shipping_address": {
        "street": "123 Main St",
        "city": "Cityville",
        "state": "State",
        "postal_code": "12345",
        "country": "Country",
    },
    "payment_method": "credit_card",
}
"""The order of the README's curl example, exactly."""


def order_body(
    *,
    customer_id: str,
    items: list[JSON] | None = None,
    payment_method: str = "credit_card",
    country: str = "Country",
) -> JSON:
    """The seed order for another customer, with the parts a scenario changes."""
    body = copy.deepcopy(SEED_ORDER)
    body["customer_id"] = customer_id
    body["payment_method"] = payment_method
    body["shipping_address"]["country"] = country
    if items is not None:
        body["items"] = items
    return body


def item(product_id: str, quantity: int = 1, price: float = 10.0) -> JSON:
    return {"product_id": product_id, "name": product_id, "price": price, "quantity": quantity}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def step(order: JSON, name: str) -> JSON:
    found: JSON = next(s for s in order["saga"]["steps"] if s["name"] == name)
    return found


@dataclass(frozen=True)
class Running:
    urls: Mapping[str, str]
    service_token: str
    admin_token: str
    exited: Callable[[], dict[str, int]] = field(repr=False)


@dataclass(frozen=True)
class CheckoutApi:
    client: httpx.AsyncClient
    running: Running = field(repr=False)

    def url(self, service: str, path: str) -> str:
        return self.running.urls[service] + path

    @property
    def service_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.running.service_token}"}

    @property
    def admin_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.running.admin_token}"}

    async def post_order(
        self, body: JSON, *, wait: int | None = None, key: str | None = None
    ) -> httpx.Response:
        headers = {}
        if wait is not None:
            headers["Prefer"] = f"wait={wait}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post(self.url("orders", "/orders"), json=body, headers=headers)

    async def get_order(self, order_id: str, *, wait: int | None = None) -> httpx.Response:
        headers = {"Prefer": f"wait={wait}"} if wait is not None else {}
        return await self.client.get(self.url("orders", f"/orders/{order_id}"), headers=headers)

    async def settled(self, order_id: str, *, wait: int = 30) -> JSON:
        """The order once it is no longer pending (the service holds the answer)."""
        response = await self.get_order(order_id, wait=wait)
        assert response.status_code == 200, response.text
        order: JSON = response.json()
        assert order["status"] != "pending", f"order {order_id} still pending: {order}"
        return order

    async def place(self, body: JSON, *, wait: int = 30) -> JSON:
        """Place an order and answer it once settled."""
        response = await self.post_order(body, wait=wait)
        assert response.status_code == 201, response.text
        if response.json()["status"] != "pending":
            placed: JSON = response.json()
            return placed
        return await self.settled(response.json()["id"], wait=wait)

    async def list_orders(self, **params: str | int) -> JSON:
        response = await self.client.get(
            self.url("orders", "/orders"), params=params, headers=self.admin_auth
        )
        assert response.status_code == 200, response.text
        listed: JSON = response.json()
        return listed

    async def payments(self, order_id: str) -> list[JSON]:
        return await self._items("payment", "/payments", order_id)

    async def shipments(self, order_id: str) -> list[JSON]:
        return await self._items("shipping", "/shipments", order_id)

    async def reservations(self, order_id: str) -> list[JSON]:
        return await self._items("inventory", "/reservations", order_id)

    async def stock(self, product_id: str) -> int:
        response = await self.client.get(self.url("inventory", f"/products/{product_id}"))
        assert response.status_code == 200, response.text
        available: int = response.json()["available"]
        return available

    async def set_stock(self, product_id: str, available: int) -> None:
        response = await self.client.put(
            self.url("inventory", f"/products/{product_id}"),
            json={"available": available},
            headers=self.admin_auth,
        )
        assert response.status_code == 200, response.text

    async def _items(self, service: str, path: str, order_id: str) -> list[JSON]:
        response = await self.client.get(
            self.url(service, path), params={"order_id": order_id}, headers=self.service_auth
        )
        assert response.status_code == 200, response.text
        items: list[JSON] = response.json()["items"]
        return items
