"""Whose orders a caller may list and read: a customer is who their token says, never who
the body or the query says.

Issue 29's attack: placing an order in a victim's name used to hand back the victim's
token (an HMAC of the customer id), which listed all of the victim's orders, addresses
included.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.checkout.conftest import ADMIN, Service
from tests.integration.checkout.hostile.conftest import (
    StartOrders,
    assert_nothing_stored,
    row_count,
)
from tests.integration.checkout.hostile.test_orders import TABLES, order, place, raw_json
from tests.support.identity import IDENTITY, bearer, customer_token

SECRET_STREET = "1 Secret Rd"


def victims_order(**changes: Any) -> dict[str, Any]:
    body = order(customer_id="victim42", **changes)
    body["shipping_address"]["street"] = SECRET_STREET
    return body


async def placed(orders: Service, body: dict[str, Any], **headers: str) -> str:
    response = await place(orders.client, raw_json(body), **headers)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def test_placing_an_order_in_a_victims_name_does_not_list_the_victims_orders(
    orders: Service,
) -> None:
    await placed(orders, victims_order())

    lure = await place(
        orders.client, raw_json(order(customer_id="victim42", payment_method="declined_card"))
    )
    handed_back = lure.headers.get("Customer-Token", "none")
    listed = await orders.client.get(
        "/orders", params={"customer_id": "victim42"}, headers=bearer(handed_back)
    )

    assert lure.status_code == 201
    assert "Customer-Token" not in lure.headers
    assert listed.status_code == 401, listed.text
    assert SECRET_STREET not in listed.text


async def test_with_identity_an_attacker_cannot_place_an_order_in_a_victims_name(
    orders_with_identity: Service,
) -> None:
    orders = orders_with_identity
    await placed(orders, victims_order(), **bearer(customer_token("victim42")))

    lure = await place(
        orders.client,
        raw_json(order(customer_id="victim42", payment_method="declined_card")),
        **bearer(customer_token("mallory")),
    )

    assert lure.status_code == 403, lure.text
    assert lure.json()["detail"]["code"] == "not_your_customer_id"
    assert await row_count(orders.database, "orders") == 1


async def test_with_identity_a_customer_lists_their_own_orders_only(
    orders_with_identity: Service,
) -> None:
    orders = orders_with_identity
    await placed(orders, victims_order(), **bearer(customer_token("victim42")))
    mallorys = await placed(
        orders, order(customer_id="mallory"), **bearer(customer_token("mallory"))
    )

    listed = await orders.client.get("/orders", headers=bearer(customer_token("mallory")))

    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == [mallorys]
    assert listed.json()["total"] == 1
    assert SECRET_STREET not in listed.text


async def test_with_identity_listing_another_customers_orders_is_refused(
    orders_with_identity: Service,
) -> None:
    orders = orders_with_identity
    await placed(orders, victims_order(), **bearer(customer_token("victim42")))

    listed = await orders.client.get(
        "/orders", params={"customer_id": "victim42"}, headers=bearer(customer_token("mallory"))
    )

    assert listed.status_code == 403, listed.text
    assert listed.json()["detail"]["code"] == "not_your_customer_id"
    assert SECRET_STREET not in listed.text


async def test_with_identity_another_customers_order_is_not_found_like_an_unknown_one(
    orders_with_identity: Service,
) -> None:
    orders = orders_with_identity
    victims = await placed(orders, victims_order(), **bearer(customer_token("victim42")))
    unknown = "00000000-0000-0000-0000-000000000000"
    mallory = bearer(customer_token("mallory"))

    theirs = await orders.client.get(f"/orders/{victims}", headers={**mallory, "Prefer": "wait=5"})
    nobodys = await orders.client.get(f"/orders/{unknown}", headers=mallory)

    assert (theirs.status_code, nobodys.status_code) == (404, 404)
    assert theirs.json()["detail"]["code"] == nobodys.json()["detail"]["code"]
    assert SECRET_STREET not in theirs.text
    own = await orders.client.get(f"/orders/{victims}", headers=bearer(customer_token("victim42")))
    assert own.status_code == 200 and own.json()["shipping_address"]["street"] == SECRET_STREET


@pytest.mark.parametrize("headers", [{}, bearer(customer_token("victim42"))], ids=["none", "jwt"])
async def test_without_identity_only_the_admin_token_lists_a_customers_orders(
    orders: Service, headers: dict[str, str]
) -> None:
    await placed(orders, victims_order())

    listed = await orders.client.get("/orders", params={"customer_id": "victim42"}, headers=headers)

    assert listed.status_code == 401, listed.text
    assert listed.headers["www-authenticate"].startswith("Bearer")
    assert SECRET_STREET not in listed.text


@pytest.mark.parametrize("identity", [False, True], ids=["without-identity", "with-identity"])
async def test_the_admin_token_lists_any_customer(
    start_orders: StartOrders, identity: bool
) -> None:
    service = await start_orders(**(IDENTITY if identity else {}))
    customer = bearer(customer_token("carol")) if identity else {}
    order_id = await placed(service, order(customer_id="carol"), **customer)

    listed = await service.client.get("/orders", params={"customer_id": "carol"}, headers=ADMIN)

    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == [order_id]


async def test_without_identity_an_order_is_placed_and_read_by_its_id_with_no_token(
    orders: Service,
) -> None:
    order_id = await placed(orders, order())

    read = await orders.client.get(f"/orders/{order_id}")

    assert read.status_code == 200 and read.json()["id"] == order_id


async def test_with_identity_the_admin_token_places_no_order(
    orders_with_identity: Service,
) -> None:
    response = await place(orders_with_identity.client, raw_json(order()), **ADMIN)

    assert response.status_code == 401, response.text
    assert response.json()["detail"]["code"] == "token_required"
    await assert_nothing_stored(orders_with_identity.database, TABLES)
