"""The times that come with an idempotency key: required on the orchestrator's six calls,
optional elsewhere, and refused with a 422 naming the header when they are not times."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from checkout.inventory.app import create_app as inventory_app
from checkout.inventory.settings import InventorySettings
from checkout.payment.app import create_app as payment_app
from checkout.payment.settings import PaymentSettings
from checkout.shipping.app import create_app as shipping_app
from checkout.shipping.settings import ShippingSettings
from sagakit.http import DEADLINE_HEADER, KEY_ISSUED_HEADER
from tests.integration.checkout.conftest import ADMIN, SERVICE, Serve, Service
from tests.support.keys import keyed

ORDER_ID = str(uuid.uuid4())
CHARGE = {"order_id": ORDER_ID, "customer_id": "c", "amount": "5.00", "payment_method": "paypal"}
ADDRESS = {"street": "s", "city": "c", "state": "s", "postal_code": "1", "country": "C"}
RESERVE = {"order_id": ORDER_ID, "lines": [{"product_id": "product1", "quantity": 1}]}
PAYMENT = ("payment", payment_app, PaymentSettings)
INVENTORY = ("inventory", inventory_app, InventorySettings)
SHIPPING = ("shipping", shipping_app, ShippingSettings)
ROUTES: list[tuple[str, Callable[..., Any], Callable[..., Any], str, dict[str, Any]]] = [
    (*PAYMENT, "/payments", CHARGE),
    (*PAYMENT, "/payments/refunds", {"order_id": ORDER_ID, "amount": "5.00"}),
    (*INVENTORY, "/reservations", RESERVE),
    (*INVENTORY, "/reservations/release", {"order_id": ORDER_ID}),
    (*SHIPPING, "/shipments", {"order_id": ORDER_ID, "address": ADDRESS}),
    (*SHIPPING, "/shipments/cancel", {"order_id": ORDER_ID}),
]
NOT_TIMES = ["", "soon", "NaN", "nan", "inf", "-Infinity", "-1", "1e30", "1" + "0" * 400]


def locations(body: dict[str, Any]) -> list[list[Any]]:
    return [error["loc"] for error in body["detail"]]


async def answer_rows(service: Service) -> int:
    async with service.database.reading() as connection:
        count = await connection.scalar(sa.text("SELECT count(*) FROM answers"))
    return int(count or 0)


@pytest.mark.parametrize("header", [KEY_ISSUED_HEADER, DEADLINE_HEADER])
@pytest.mark.parametrize(
    ("name", "app", "settings", "path", "body"), ROUTES, ids=[route[3] for route in ROUTES]
)
async def test_an_orchestrated_call_without_a_time_is_refused_naming_its_header(
    serve: Serve,
    name: str,
    app: Callable[..., Any],
    settings: Callable[..., Any],
    path: str,
    body: dict[str, Any],
    header: str,
) -> None:
    service = await serve(name, app, settings)
    headers = {**SERVICE, **keyed("k")}
    del headers[header]

    response = await service.client.post(path, json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert locations(response.json()) == [["header", header]]
    assert await answer_rows(service) == 0


@pytest.mark.parametrize("value", NOT_TIMES)
@pytest.mark.parametrize("header", [KEY_ISSUED_HEADER, DEADLINE_HEADER])
async def test_a_time_that_is_not_a_finite_positive_number_is_refused_naming_its_header(
    serve: Serve, header: str, value: str
) -> None:
    payment = await serve("payment", payment_app, PaymentSettings)
    headers = {**SERVICE, **keyed("k"), header: value}

    response = await payment.client.post("/payments", json=CHARGE, headers=headers)

    assert response.status_code == 422, response.text
    assert locations(response.json()) == [["header", header]]
    assert await answer_rows(payment) == 0


async def test_a_confirmation_may_come_without_times(serve: Serve) -> None:
    payment = await serve("payment", payment_app, PaymentSettings)
    body = {"challenge_id": str(uuid.uuid4()), "outcome": "confirmed"}

    response = await payment.client.post(
        "/payments/confirmations", json=body, headers={**SERVICE, "Idempotency-Key": "k"}
    )

    assert response.status_code == 404  # no such challenge: judged, not refused for want of times
    assert response.json()["detail"]["code"] == "challenge_not_found"


@pytest.mark.parametrize("header", [KEY_ISSUED_HEADER, DEADLINE_HEADER])
async def test_a_restocks_optional_time_must_still_be_a_time(serve: Serve, header: str) -> None:
    inventory = await serve("inventory", inventory_app, InventorySettings)
    headers = {**ADMIN, "Idempotency-Key": "r", header: "tomorrow"}

    response = await inventory.client.post(
        "/products/product1/restock", json={"quantity": 1}, headers=headers
    )

    assert response.status_code == 422
    assert locations(response.json()) == [["header", header]]


async def test_a_late_restock_under_a_key_adds_nothing(serve: Serve) -> None:
    inventory = await serve("inventory", inventory_app, InventorySettings)
    headers = {**ADMIN, **keyed("r", deadline=1_000_000_000.0)}

    response = await inventory.client.post(
        "/products/product1/restock", json={"quantity": 1}, headers=headers
    )

    assert response.status_code == 410
    assert response.json()["detail"]["code"] == "request_expired"
    assert (await inventory.client.get("/products/product1")).json()["available"] == 1000
