"""A card holder's answer reaching an order: by the customer's
``POST /orders/{id}/confirmation`` and by the payment service's webhook, once, late, or
malformed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.checkout.admin.conftest import order_body
from tests.integration.checkout.confirmations.conftest import Checkout, StartCheckout
from tests.integration.checkout.conftest import ADMIN, SERVICE
from tests.support.identity import IDENTITY, bearer, customer_token


def card_3ds(customer_id: str = "cust-1") -> dict[str, Any]:
    return {**order_body(), "customer_id": customer_id, "payment_method": "card_3ds"}


def answer(order: dict[str, Any], outcome: str = "confirmed") -> dict[str, str]:
    return {"challenge_id": order["next_action"]["challenge_id"], "outcome": outcome}


async def confirm(
    checkout: Checkout, order: dict[str, Any], outcome: str = "confirmed", **headers: str
) -> httpx.Response:
    return await checkout.orders.post(
        f"/orders/{order['id']}/confirmation", json=answer(order, outcome), headers=headers
    )


def notice(order: dict[str, Any], outcome: str = "confirmed") -> dict[str, str]:
    """What the payment service's webhook posts."""
    return {
        "event_id": str(uuid.uuid4()),
        "order_id": order["id"],
        "payment_id": "pay-1",
        **answer(order, outcome),
    }


async def payment_status(checkout: Checkout, order_id: str) -> str:
    response = await checkout.payment.get(
        "/payments", params={"order_id": order_id}, headers=SERVICE
    )
    [payment] = response.json()["items"]
    status: str = payment["status"]
    return status


async def test_a_3ds_order_is_answered_at_once_awaiting_the_holders_confirmation(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())

    assert order["status"] == "awaiting_confirmation"
    assert order["next_action"]["type"] == "confirm_payment"
    listed = await checkout.orders.get(
        "/orders", params={"status": "awaiting_confirmation"}, headers=ADMIN
    )
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    pending = await checkout.orders.get("/orders", params={"status": "pending"}, headers=ADMIN)
    assert pending.json()["total"] == 0


async def test_the_customers_confirmation_captures_and_completes_the_order(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())

    response = await confirm(checkout, order, **{"Prefer": "wait=60"})

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "completed"
    assert await payment_status(checkout, order["id"]) == "captured"


async def test_the_same_confirmation_again_is_taken_again(checkout: Checkout) -> None:
    order = await checkout.place(card_3ds())
    await confirm(checkout, order)
    await checkout.ended(order["id"])

    again = await confirm(checkout, order)
    declined = await confirm(checkout, order, "declined")

    assert again.status_code == 202, again.text
    assert again.json()["status"] == "completed"
    assert declined.status_code == 409
    assert declined.json()["detail"]["code"] == "challenge_answered"


async def test_the_webhook_completes_the_order_and_a_second_delivery_is_a_duplicate(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())
    sent = notice(order)
    # The payment service records the answer, then tells the order service.
    answered = await checkout.payment.post(
        "/payments/confirmations",
        json=answer(order),
        headers={**SERVICE, "Idempotency-Key": "issuer-1"},
    )

    first = await checkout.orders.post("/payment-events", json=sent, headers=SERVICE)
    done = await checkout.ended(order["id"])
    second = await checkout.orders.post("/payment-events", json=sent, headers=SERVICE)

    assert answered.status_code == 200, answered.text
    assert (first.status_code, first.json()) == (200, {"order_id": order["id"], "recorded": True})
    assert done["status"] == "completed"
    assert (second.status_code, second.json()["recorded"]) == (200, False)


async def test_a_declined_answer_cancels_the_order_and_voids_nothing_taken(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())

    response = await confirm(checkout, order, "declined")
    done = await checkout.ended(order["id"])

    assert response.status_code == 202, response.text
    assert done["status"] == "cancelled"
    assert (done["failure"]["step"], done["failure"]["code"]) == ("payment", "payment_declined")
    assert await payment_status(checkout, order["id"]) == "declined"


async def test_an_answer_after_the_timeout_is_refused_with_409_and_moves_no_money(
    start_checkout: StartCheckout,
) -> None:
    checkout = await start_checkout(confirmation_timeout_seconds=0.5)
    order = await checkout.place(card_3ds())
    done = await checkout.ended(order["id"])

    by_customer = await confirm(checkout, order)
    by_webhook = await checkout.orders.post("/payment-events", json=notice(order), headers=SERVICE)

    assert (done["failure"]["step"], done["failure"]["code"]) == ("payment", "event_timeout")
    for late in (by_customer, by_webhook):
        assert late.status_code == 409, late.text
        assert late.json()["detail"]["code"] == "confirmation_timed_out"
    assert await payment_status(checkout, order["id"]) == "voided"


async def test_an_answer_to_another_challenge_is_refused_and_the_order_still_waits(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())
    wrong = {"challenge_id": str(uuid.uuid4()), "outcome": "confirmed"}

    by_customer = await checkout.orders.post(f"/orders/{order['id']}/confirmation", json=wrong)
    by_webhook = await checkout.orders.post(
        "/payment-events", json={**notice(order), **wrong}, headers=SERVICE
    )

    for refused in (by_customer, by_webhook):
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"]["code"] == "challenge_mismatch"
    still = await checkout.orders.get(f"/orders/{order['id']}")
    assert still.json()["status"] == "awaiting_confirmation"


async def test_an_order_that_asks_nothing_takes_no_confirmation(checkout: Checkout) -> None:
    response = await checkout.orders.post("/orders", json=order_body())
    order_id = response.json()["id"]
    await checkout.ended(order_id)

    refused = await checkout.orders.post(
        f"/orders/{order_id}/confirmation",
        json={"challenge_id": str(uuid.uuid4()), "outcome": "confirmed"},
    )

    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "not_awaiting_confirmation"


async def test_an_unknown_order_is_404_by_either_way(checkout: Checkout) -> None:
    unknown = {"id": str(uuid.uuid4()), "next_action": {"challenge_id": str(uuid.uuid4())}}

    by_customer = await confirm(checkout, unknown)
    by_webhook = await checkout.orders.post(
        "/payment-events", json=notice(unknown), headers=SERVICE
    )

    for missing in (by_customer, by_webhook):
        assert missing.status_code == 404, missing.text
        assert missing.json()["detail"]["code"] == "order_not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"challenge_id": "not-a-uuid"}, "challenge_id"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"remember_me": True}, "remember_me"),
    ],
)
async def test_a_malformed_answer_is_refused_with_422_naming_the_field(
    checkout: Checkout, change: dict[str, Any], field: str
) -> None:
    order = await checkout.place(card_3ds())

    by_customer = await checkout.orders.post(
        f"/orders/{order['id']}/confirmation", json={**answer(order), **change}
    )
    by_webhook = await checkout.orders.post(
        "/payment-events", json={**notice(order), **change}, headers=SERVICE
    )

    for refused in (by_customer, by_webhook):
        assert refused.status_code == 422, refused.text
        assert any(error["loc"][-1] == field for error in refused.json()["detail"])


async def test_the_webhook_needs_the_service_token(checkout: Checkout) -> None:
    order = await checkout.place(card_3ds())

    for headers in ({}, ADMIN, bearer("made-up")):
        response = await checkout.orders.post(
            "/payment-events", json=notice(order), headers=headers
        )
        assert response.status_code == 401, (headers, response.text)
    assert (await checkout.orders.get(f"/orders/{order['id']}")).json()[
        "status"
    ] == "awaiting_confirmation"


async def test_a_payment_service_that_does_not_answer_is_503_and_the_order_still_waits(
    checkout: Checkout,
) -> None:
    order = await checkout.place(card_3ds())
    reachable = checkout.participants.payment
    checkout.participants.payment = httpx.MockTransport(lambda _: httpx.Response(503))

    down = await confirm(checkout, order)
    checkout.participants.payment = reachable
    retried = await confirm(checkout, order)

    assert down.status_code == 503, down.text
    assert down.json()["detail"]["code"] == "participant_unavailable"
    assert down.headers["Retry-After"]
    assert retried.status_code == 202, retried.text


@pytest.fixture
async def with_identity(start_checkout: StartCheckout) -> Checkout:
    return await start_checkout(**IDENTITY)


async def test_a_customer_confirms_their_own_order_with_their_token(
    with_identity: Checkout,
) -> None:
    own = bearer(customer_token("cust-1"))
    order = await with_identity.place(card_3ds("cust-1"), **own)

    response = await confirm(with_identity, order, **own)

    assert response.status_code == 202, response.text


async def test_another_customers_order_is_404_and_the_admin_token_confirms_nothing(
    with_identity: Checkout,
) -> None:
    order = await with_identity.place(card_3ds("cust-1"), **bearer(customer_token("cust-1")))

    by_other = await confirm(with_identity, order, **bearer(customer_token("cust-2")))
    by_admin = await confirm(with_identity, order, **ADMIN)
    anonymous = await confirm(with_identity, order)

    assert by_other.status_code == 404
    assert by_other.json()["detail"]["code"] == "order_not_found"
    for refused in (by_admin, anonymous):
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert await payment_status(with_identity, order["id"]) == "requires_confirmation"
