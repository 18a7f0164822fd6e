"""Hostile customer tokens against the order service with an identity configured: each is
refused with 401 before the body is read, creates nothing, and is never repeated or
logged."""

from __future__ import annotations

import logging

import pytest

from tests.integration.checkout.conftest import SERVICE, SERVICE_TOKEN, Service
from tests.integration.checkout.hostile.conftest import assert_nothing_stored, assert_refused
from tests.integration.checkout.hostile.test_orders import TABLES, order, place, raw_json
from tests.support.identity import HOSTILE_TOKENS, bearer, customer_token

KINDS = sorted(HOSTILE_TOKENS)
UNKNOWN_ORDER = "/orders/00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_hostile_token_places_nothing_even_with_a_valid_body(
    orders_with_identity: Service, kind: str
) -> None:
    token = HOSTILE_TOKENS[kind]("alice")

    response = await place(
        orders_with_identity.client, raw_json(order(customer_id="alice")), **bearer(token)
    )

    assert_refused(response, None, status=401)
    assert response.json()["detail"]["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="orders", error="invalid_token", error_description="'
    )
    await assert_nothing_stored(orders_with_identity.database, TABLES)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_hostile_token_is_refused_before_the_body_is_read(
    orders_with_identity: Service, kind: str
) -> None:
    response = await place(
        orders_with_identity.client, b"{not json", **bearer(HOSTILE_TOKENS[kind]("alice"))
    )

    assert response.status_code == 401, response.text
    assert response.json()["detail"]["code"] == "invalid_token"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["/orders", UNKNOWN_ORDER])
async def test_a_hostile_token_reads_nothing(
    orders_with_identity: Service, kind: str, path: str
) -> None:
    response = await orders_with_identity.client.get(
        path, params={"limit": "-1"}, headers=bearer(HOSTILE_TOKENS[kind]("alice"))
    )

    assert_refused(response, None, status=401)  # before the invalid query is looked at
    assert response.json()["detail"]["code"] == "invalid_token"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_hostile_token_is_neither_logged_nor_echoed(
    orders_with_identity: Service, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = HOSTILE_TOKENS[kind]("alice")
    caplog.set_level(logging.DEBUG)

    response = await place(orders_with_identity.client, raw_json(order()), **bearer(token))

    assert response.status_code == 401
    pieces = [piece for piece in token.split(".") if len(piece) > 8] or [token]
    seen = caplog.text + response.text + str(response.headers)
    assert not [piece for piece in pieces if piece in seen]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {customer_token('alice')}"}],
    ids=["none", "empty-bearer", "basic"],
)
async def test_with_identity_every_order_route_needs_a_token(
    orders_with_identity: Service, headers: dict[str, str]
) -> None:
    client = orders_with_identity.client
    answers = [
        await place(client, b"{not json", **headers),
        await client.get("/orders", headers=headers),
        await client.get(UNKNOWN_ORDER, headers=headers),
    ]

    for response in answers:
        assert_refused(response, None, status=401)
        assert response.json()["detail"]["code"] == "token_required"
        assert response.headers["www-authenticate"] == 'Bearer realm="orders"'
    await assert_nothing_stored(orders_with_identity.database, TABLES)


async def test_the_service_token_is_no_customer_token(orders_with_identity: Service) -> None:
    response = await place(orders_with_identity.client, raw_json(order()), **SERVICE)

    assert response.status_code == 401
    assert SERVICE_TOKEN not in response.text
    await assert_nothing_stored(orders_with_identity.database, TABLES)


async def test_another_customers_valid_token_places_nothing_in_their_name(
    orders_with_identity: Service,
) -> None:
    response = await place(
        orders_with_identity.client,
        raw_json(order(customer_id="alice")),
        **bearer(customer_token("bob")),
    )

    assert_refused(response, None, status=403)
    assert response.json()["detail"]["code"] == "not_your_customer_id"
    await assert_nothing_stored(orders_with_identity.database, TABLES)


async def test_a_customers_own_token_places_their_order(orders_with_identity: Service) -> None:
    response = await place(
        orders_with_identity.client,
        raw_json(order(customer_id="alice")),
        **bearer(customer_token("alice")),
    )

    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == "alice"
