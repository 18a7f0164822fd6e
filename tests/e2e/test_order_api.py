"""The order API's contract: idempotency, reading, listing, waiting, refusing bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.api import CheckoutApi, item, order_body, unique

pytestmark = pytest.mark.e2e

Body = dict[str, Any]


async def test_repeating_a_post_with_its_idempotency_key_replays_the_first_order(
    api: CheckoutApi,
) -> None:
    body, key = order_body(customer_id=unique("cust")), unique("key")

    first = await api.post_order(body, key=key, wait=10)
    second = await api.post_order(body, key=key, wait=10)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(await api.payments(first.json()["id"])) == 1
    assert (await api.list_orders(customer_id=body["customer_id"]))["total"] == 1


async def test_reusing_an_idempotency_key_for_another_body_is_refused(api: CheckoutApi) -> None:
    customer, key = unique("cust"), unique("key")
    first = await api.post_order(order_body(customer_id=customer), key=key, wait=10)
    other = order_body(customer_id=customer, items=[item("product3", 5)])

    refused = await api.post_order(other, key=key)

    assert first.status_code == 201, first.text
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]["code"] == "idempotency_key_reused"
    assert (await api.list_orders(customer_id=customer))["total"] == 1


async def test_concurrent_posts_with_one_new_key_create_a_single_order(api: CheckoutApi) -> None:
    body, key = order_body(customer_id=unique("cust")), unique("key")

    answers = await asyncio.gather(*(api.post_order(body, key=key, wait=10) for _ in range(2)))

    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(ids) == 1, [a.text for a in answers]
    listed = await api.list_orders(customer_id=body["customer_id"])
    assert listed["total"] == 1
    assert [o["id"] for o in listed["items"]] == list(ids)
    assert len(await api.payments(ids.pop())) == 1


async def test_reading_an_unknown_order_answers_404_with_a_detail(api: CheckoutApi) -> None:
    order_id = uuid.uuid4()

    response = await api.get_order(str(order_id))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]["code"] == "order_not_found"
    assert str(order_id) in response.json()["detail"]["message"]


async def test_listing_filters_by_customer_and_status_and_pages_consistently(
    api: CheckoutApi,
) -> None:
    customer = unique("cust")
    completed = [await api.place(order_body(customer_id=customer)) for _ in range(3)]
    declined = await api.place(order_body(customer_id=customer, payment_method="declined_card"))
    assert {o["status"] for o in completed} == {"completed"}
    assert declined["status"] == "cancelled"

    first = await api.list_orders(customer_id=customer, status="completed", limit=2, offset=0)
    second = await api.list_orders(customer_id=customer, status="completed", limit=2, offset=2)
    cancelled = await api.list_orders(customer_id=customer, status="cancelled")
    everything = await api.list_orders(customer_id=customer)

    assert (first["total"], second["total"]) == (3, 3)
    assert (len(first["items"]), len(second["items"])) == (2, 1)
    paged = [o["id"] for o in first["items"] + second["items"]]
    assert sorted(paged) == sorted(o["id"] for o in completed)
    assert all(o["status"] == "completed" for o in first["items"] + second["items"])
    assert all(o["customer_id"] == customer for o in everything["items"])
    assert [o["id"] for o in cancelled["items"]] == [declined["id"]]
    assert cancelled["total"] == 1
    assert everything["total"] == len(everything["items"]) == 4


async def test_prefer_wait_holds_the_post_until_the_order_settles(api: CheckoutApi) -> None:
    response = await api.post_order(order_body(customer_id=unique("cust")), wait=10)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "completed"
    assert [s["status"] for s in response.json()["saga"]["steps"]] == ["succeeded"] * 3


def _set_item(field: str, value: object) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["items"][0][field] = value

    return change


def _set(field: str, value: object) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body[field] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set("payment_method", "bitcoin"), id="unsupported-payment-method"),
        pytest.param(_set_item("quantity", 0), id="quantity-0"),
        pytest.param(_set_item("quantity", 2.5), id="fractional-quantity"),
        pytest.param(_set_item("price", -1), id="negative-price"),
        pytest.param(_set_item("price", 10.123), id="price-with-three-decimals"),
        pytest.param(_set("items", []), id="no-items"),
    ],
)
async def test_malformed_order_is_refused_with_422_and_creates_nothing(
    api: CheckoutApi, change: Callable[[Body], None]
) -> None:
    body = order_body(customer_id=unique("cust"))
    change(body)

    response = await api.post_order(body)

    assert response.status_code == 422, response.text
    assert (await api.list_orders(customer_id=body["customer_id"]))["total"] == 0


async def test_body_over_one_megabyte_is_refused_with_413_and_creates_nothing(
    api: CheckoutApi,
) -> None:
    body = order_body(customer_id=unique("cust"))
    body["items"][0]["name"] = "x" * (1024 * 1024)

    response = await api.client.post(
        api.url("orders", "/orders"),
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413, response.text
    assert (await api.list_orders(customer_id=body["customer_id"]))["total"] == 0
