"""At every participant, the first answer under an idempotency key is final.

A request can reach a participant late (after its caller timed out) or twice, so a
key may come back after the world changed. Refusals are answers too: a late copy of a
refused request gets the refusal, not a fresh decision.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from checkout.inventory.app import create_app as inventory_app
from checkout.inventory.settings import InventorySettings
from checkout.payment.app import create_app as payment_app
from checkout.payment.settings import PaymentSettings
from checkout.shipping.app import create_app as shipping_app
from checkout.shipping.settings import ShippingSettings
from tests.integration.checkout.conftest import ADMIN, SERVICE, Serve
from tests.support.keys import keyed

ADDRESS = {
    "street": "1 Main St",
    "city": "Cityville",
    "state": "ST",
    "postal_code": "12345",
    "country": "Country",
}


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={**SERVICE, **keyed(key)})


async def listed(client: httpx.AsyncClient, path: str, order_id: str) -> list[Any]:
    response = await client.get(path, params={"order_id": order_id}, headers=SERVICE)
    assert response.status_code == 200
    items: list[Any] = response.json()["items"]
    return items


async def set_stock(client: httpx.AsyncClient, product_id: str, available: int) -> None:
    response = await client.put(
        f"/products/{product_id}", json={"available": available}, headers=ADMIN
    )
    assert response.status_code == 200


async def test_a_refused_reservation_stays_refused_after_a_restock(serve: Serve) -> None:
    inventory = (await serve("inventory", inventory_app, InventorySettings)).client
    order_id = str(uuid.uuid4())
    body = {"order_id": order_id, "lines": [{"product_id": "product3", "quantity": 2}]}
    await set_stock(inventory, "product3", 0)
    refused = await post(inventory, "/reservations", body, key=f"{order_id}:inventory:forward")
    await set_stock(inventory, "product3", 100)

    late = await post(inventory, "/reservations", body, key=f"{order_id}:inventory:forward")

    assert refused.status_code == late.status_code == 409
    assert late.json() == refused.json()
    assert late.json()["detail"]["code"] == "insufficient_stock"
    assert late.headers["Idempotent-Replayed"] == "true"
    assert (await inventory.get("/products/product3")).json()["available"] == 100
    assert await listed(inventory, "/reservations", order_id) == []


async def test_a_refused_shipment_key_sent_again_with_a_valid_address_ships_nothing(
    serve: Serve,
) -> None:
    shipping = (await serve("shipping", shipping_app, ShippingSettings)).client
    order_id = str(uuid.uuid4())
    key = f"{order_id}:shipping:forward"
    refused = await post(
        shipping, "/shipments", {"order_id": order_id, "address": {**ADDRESS, "country": "XX"}}, key
    )

    again = await post(shipping, "/shipments", {"order_id": order_id, "address": ADDRESS}, key)

    assert refused.json()["detail"]["code"] == "undeliverable"
    assert again.status_code == 422
    assert again.json()["detail"]["code"] == "idempotency_key_reused"
    assert await listed(shipping, "/shipments", order_id) == []


async def test_a_declined_charge_is_declined_again_and_its_key_cannot_charge(
    serve: Serve,
) -> None:
    payment = (await serve("payment", payment_app, PaymentSettings)).client
    order_id = str(uuid.uuid4())
    body = {
        "order_id": order_id,
        "customer_id": "c-1",
        "amount": "20.00",
        "payment_method": "declined_card",
    }
    key = f"{order_id}:payment:forward"
    first = await post(payment, "/payments", body, key)

    again = await post(payment, "/payments", body, key)
    other_card = await post(payment, "/payments", {**body, "payment_method": "paypal"}, key)

    assert first.status_code == again.status_code == 402
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_card.status_code == 422
    assert await listed(payment, "/payments", order_id) == []


def _reserve(order_id: str, quantity: int) -> dict[str, Any]:
    return {"order_id": order_id, "lines": [{"product_id": "product1", "quantity": quantity}]}


def _charge(order_id: str, quantity: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": "c-1",
        "amount": f"{quantity}.00",
        "payment_method": "credit_card",
    }


def _ship(order_id: str, quantity: int) -> dict[str, Any]:
    return {"order_id": order_id, "address": {**ADDRESS, "street": f"{quantity} Main St"}}


ENDPOINTS: list[tuple[str, Callable[..., Any], type[Any], str, Callable[[str, int], Any]]] = [
    ("payment", payment_app, PaymentSettings, "/payments", _charge),
    ("payment", payment_app, PaymentSettings, "/payments/refunds", _charge),
    ("inventory", inventory_app, InventorySettings, "/reservations", _reserve),
    ("inventory", inventory_app, InventorySettings, "/reservations/release", _reserve),
    ("shipping", shipping_app, ShippingSettings, "/shipments", _ship),
    ("shipping", shipping_app, ShippingSettings, "/shipments/cancel", _ship),
]


@pytest.mark.parametrize(("name", "app", "settings", "path", "body"), ENDPOINTS)
async def test_a_key_reused_for_another_order_is_refused_on_every_endpoint(
    serve: Serve,
    name: str,
    app: Callable[..., Any],
    settings: type[Any],
    path: str,
    body: Callable[[str, int], dict[str, Any]],
) -> None:
    client = (await serve(name, app, settings)).client
    fields = _fields(path)
    first_order, other_order = str(uuid.uuid4()), str(uuid.uuid4())

    first = await post(client, path, _only(body(first_order, 1), fields), key="the-key")
    reused = await post(client, path, _only(body(other_order, 1), fields), key="the-key")

    assert first.status_code < 300, first.text
    assert reused.status_code == 422, reused.text
    assert reused.json()["detail"]["code"] == "idempotency_key_reused"


def _fields(path: str) -> set[str] | None:
    """A compensation's body is the order id (and a refund's, the amount)."""
    if path == "/payments/refunds":
        return {"order_id", "amount"}
    if path in ("/reservations/release", "/shipments/cancel"):
        return {"order_id"}
    return None


def _only(body: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
    return body if fields is None else {k: v for k, v in body.items() if k in fields}


async def test_copies_of_one_request_in_flight_get_one_decision(serve: Serve) -> None:
    inventory = (await serve("inventory", inventory_app, InventorySettings)).client
    await set_stock(inventory, "product5", 1)
    order_id = str(uuid.uuid4())
    body = {"order_id": order_id, "lines": [{"product_id": "product5", "quantity": 1}]}

    answers = await asyncio.gather(*(post(inventory, "/reservations", body, "k") for _ in range(8)))

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert (await inventory.get("/products/product5")).json()["available"] == 0
