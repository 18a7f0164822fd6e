"""The shipping API on a real database: shipments, cancellations, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from checkout.shipping.app import create_app
from checkout.shipping.settings import ShippingSettings
from tests.integration.checkout.conftest import ADMIN, SERVICE, Serve, Service
from tests.support.keys import keyed

ADDRESS = {
    "street": "123 Main St",
    "city": "Cityville",
    "state": "State",
    "postal_code": "12345",
    "country": "Country",
}


def shipment(order_id: str | None = None, **address: str) -> dict[str, Any]:
    return {"order_id": order_id or str(uuid.uuid4()), "address": {**ADDRESS, **address}}


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str = "k-1"
) -> httpx.Response:
    return await client.post(path, json=body, headers={**SERVICE, **keyed(key)})


async def shipments_of(client: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await client.get("/shipments", params={"order_id": order_id}, headers=SERVICE)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_create_shipment(shipping: Service) -> None:
    body = shipment()
    response = await post(shipping.client, "/shipments", body)
    assert response.status_code == 201
    answer = response.json()
    assert answer == {"id": answer["id"], "order_id": body["order_id"], "status": "created"}
    assert await shipments_of(shipping.client, body["order_id"]) == [answer]


async def test_undeliverable_country_answers_422_and_stores_nothing(shipping: Service) -> None:
    body = shipment(country="XX")
    response = await post(shipping.client, "/shipments", body)
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "undeliverable"
    assert await shipments_of(shipping.client, body["order_id"]) == []


async def test_replayed_shipment_returns_first_answer_and_ships_once(shipping: Service) -> None:
    body = shipment()
    first = await post(shipping.client, "/shipments", body)
    again = await post(shipping.client, "/shipments", body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert len(await shipments_of(shipping.client, body["order_id"])) == 1


async def test_key_reused_with_another_address_is_refused(shipping: Service) -> None:
    body = shipment()
    await post(shipping.client, "/shipments", body)
    response = await post(shipping.client, "/shipments", shipment(body["order_id"], city="Else"))
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"


async def test_second_shipment_for_an_order_is_refused(shipping: Service) -> None:
    body = shipment()
    await post(shipping.client, "/shipments", body, key="a")
    response = await post(shipping.client, "/shipments", body, key="b")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "already_shipped"


async def test_cancel_cancels_only_that_order_once(shipping: Service) -> None:
    kept, cancelled = shipment(), shipment()
    await post(shipping.client, "/shipments", kept, key="a")
    await post(shipping.client, "/shipments", cancelled, key="b")
    cancel = {"order_id": cancelled["order_id"]}
    for key in ("c-1", "c-1", "c-2"):
        response = await post(shipping.client, "/shipments/cancel", cancel, key=key)
        assert (response.status_code, response.json()) == (200, {**cancel, "status": "cancelled"})
    [stored] = await shipments_of(shipping.client, cancelled["order_id"])
    assert stored["status"] == "cancelled"
    [other] = await shipments_of(shipping.client, kept["order_id"])
    assert other["status"] == "created"


async def test_cancel_without_a_shipment_is_a_no_op(shipping: Service) -> None:
    cancel = {"order_id": str(uuid.uuid4())}
    for _ in range(2):
        response = await post(shipping.client, "/shipments/cancel", cancel, key="c-1")
        assert (response.status_code, response.json()) == (
            200,
            {**cancel, "status": "nothing_to_cancel"},
        )


async def test_shipment_arriving_after_its_cancellation_is_refused(shipping: Service) -> None:
    body = shipment()
    await post(shipping.client, "/shipments/cancel", {"order_id": body["order_id"]}, key="c")
    response = await post(shipping.client, "/shipments", body, key="late")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "order_compensated"


@pytest.mark.parametrize("headers", [{}, ADMIN])
async def test_cancel_needs_the_service_token_before_validation(
    shipping: Service, headers: dict[str, str]
) -> None:
    response = await shipping.client.post(
        "/shipments/cancel", content=b"[", headers={**headers, "Idempotency-Key": "k"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        shipment(country=""),
        shipment(street="s" * 201),
        {"order_id": str(uuid.uuid4()), "address": {**ADDRESS, "planet": "Mars"}},
        {"order_id": "1234", "address": ADDRESS},
    ],
)
async def test_invalid_shipment_is_refused(shipping: Service, body: dict[str, Any]) -> None:
    assert (await post(shipping.client, "/shipments", body)).status_code == 422


@pytest.mark.parametrize("disabled", [False, True])
async def test_idempotency_disabled_switch_makes_a_replay_ship_again(
    serve: Serve, disabled: bool
) -> None:
    shipping = await serve("shipping", create_app, ShippingSettings, idempotency_disabled=disabled)
    body = shipment()
    first = await post(shipping.client, "/shipments", body)
    replay = await post(shipping.client, "/shipments", body)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert len(await shipments_of(shipping.client, body["order_id"])) == (2 if disabled else 1)

    cancel = {"order_id": body["order_id"]}
    for _ in range(2):
        response = await post(shipping.client, "/shipments/cancel", cancel, key="c-1")
        assert response.json()["status"] == "cancelled"
    statuses = sorted(s["status"] for s in await shipments_of(shipping.client, body["order_id"]))
    assert statuses == (["cancelled", "created"] if disabled else ["cancelled"])


async def test_cancel_key_reused_for_another_order_cancels_nothing(shipping: Service) -> None:
    mine, theirs = shipment(), shipment()
    await post(shipping.client, "/shipments", mine, key="a")
    await post(shipping.client, "/shipments", theirs, key="b")
    first = await post(shipping.client, "/shipments/cancel", {"order_id": mine["order_id"]})
    assert first.json()["status"] == "cancelled"
    response = await post(shipping.client, "/shipments/cancel", {"order_id": theirs["order_id"]})
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"
    [other] = await shipments_of(shipping.client, theirs["order_id"])
    assert other["status"] == "created"
