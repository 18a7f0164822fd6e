"""A card that asks its holder to confirm (3-D Secure), over real HTTP between the four
services: confirmed, declined, answered to the payment service alone (its webhook tells
the order), and never answered (a system of its own, with a short confirmation timeout).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.e2e.api import JSON, CheckoutApi, Running, item, order_body, unique
from tests.e2e.conftest import fresh_databases, remember_logs, running_system

pytestmark = pytest.mark.e2e

SHORT_TIMEOUT_SECONDS = 2
BOUND_SECONDS = 60
"""Far longer than any outcome here takes: reaching it means the outcome never came."""


async def fresh_product(api: CheckoutApi, available: int = 10) -> str:
    product_id = unique("product")
    await api.set_stock(product_id, available)
    return product_id


def card_3ds_order(product: str) -> JSON:
    return order_body(
        customer_id=unique("cust"), items=[item(product, 2)], payment_method="card_3ds"
    )


async def placed(api: CheckoutApi, body: JSON) -> JSON:
    """The order as ``POST /orders`` answers it, held until it asks for the confirmation."""
    response = await api.post_order(body, wait=30)
    assert response.status_code == 201, response.text
    order: JSON = response.json()
    return order


async def confirm(api: CheckoutApi, order: JSON, outcome: str, *, wait: int = 30) -> httpx.Response:
    return await api.client.post(
        api.url("orders", f"/orders/{order['id']}/confirmation"),
        json={"challenge_id": order["next_action"]["challenge_id"], "outcome": outcome},
        headers={"Prefer": f"wait={wait}"},
    )


async def ended(api: CheckoutApi, order_id: str) -> JSON:
    """The order once completed, cancelled or failed (it may first wait for its holder,
    which a held GET answers at once)."""
    deadline = time.monotonic() + BOUND_SECONDS
    while True:
        response = await api.get_order(order_id, wait=10)
        assert response.status_code == 200, response.text
        order: JSON = response.json()
        if order["status"] in {"completed", "cancelled", "failed"}:
            return order
        assert time.monotonic() < deadline, f"order {order_id} never ended: {order}"
        await asyncio.sleep(0.2)


def payment_states(payments: list[JSON]) -> list[tuple[str, str]]:
    return [(p["status"], p["amount"]) for p in payments]


async def test_a_confirmed_payment_completes_the_order(api: CheckoutApi) -> None:
    product = await fresh_product(api)
    order = await placed(api, card_3ds_order(product))

    assert order["status"] == "awaiting_confirmation", order
    action = order["next_action"]
    assert action["type"] == "confirm_payment" and action["confirm_by"]
    [payment] = await api.payments(order["id"])
    assert payment["status"] == "requires_confirmation"
    assert payment["challenge"] == {"id": action["challenge_id"], "kind": "3ds"}
    assert await api.reservations(order["id"]) == []

    response = await confirm(api, order, "confirmed")

    assert response.status_code == 202, response.text
    done = await ended(api, order["id"])
    assert done["status"] == "completed" and done["next_action"] is None
    assert payment_states(await api.payments(order["id"])) == [("captured", "20.00")]
    assert [s["status"] for s in await api.shipments(order["id"])] == ["created"]
    assert await api.stock(product) == 8


async def test_a_declined_payment_cancels_the_order_and_takes_nothing(api: CheckoutApi) -> None:
    product = await fresh_product(api)
    order = await placed(api, card_3ds_order(product))

    response = await confirm(api, order, "declined")

    assert response.status_code == 202, response.text
    done = await ended(api, order["id"])
    assert done["status"] == "cancelled"
    assert (done["failure"]["step"], done["failure"]["code"]) == ("payment", "payment_declined")
    assert payment_states(await api.payments(order["id"])) == [("declined", "20.00")]
    assert await api.reservations(order["id"]) == []
    assert await api.shipments(order["id"]) == []
    assert await api.stock(product) == 10


async def test_an_answer_given_to_the_payment_service_reaches_the_order_by_webhook(
    api: CheckoutApi,
) -> None:
    product = await fresh_product(api)
    order = await placed(api, card_3ds_order(product))
    challenge = order["next_action"]["challenge_id"]

    answered = await api.client.post(
        api.url("payment", "/payments/confirmations"),
        json={"challenge_id": challenge, "outcome": "confirmed"},
        headers={**api.service_auth, "Idempotency-Key": f"issuer-{uuid.uuid4()}"},
    )

    assert answered.status_code == 200, answered.text
    done = await ended(api, order["id"])
    assert done["status"] == "completed"
    assert payment_states(await api.payments(order["id"])) == [("captured", "20.00")]
    assert await api.stock(product) == 8


async def test_the_same_answer_again_is_taken_again_and_another_is_refused(
    api: CheckoutApi,
) -> None:
    order = await placed(api, card_3ds_order(await fresh_product(api)))
    first = await confirm(api, order, "confirmed")

    again = await confirm(api, order, "confirmed")
    other = await confirm(api, order, "declined")

    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json()["status"] == "completed"
    assert other.status_code == 409, other.text
    assert other.json()["detail"]["code"] == "challenge_answered"
    assert payment_states(await api.payments(order["id"])) == [("captured", "20.00")]


@pytest.fixture(scope="module")
def impatient(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A system of its own whose orders wait two seconds for a card holder's answer."""
    data_dir = tmp_path_factory.mktemp("card-3ds")
    remember_logs(request, data_dir / "logs")
    with (
        fresh_databases(tmp_path_factory) as urls,
        running_system(
            urls, data_dir, ORDERS_CONFIRMATION_TIMEOUT_SECONDS=str(SHORT_TIMEOUT_SECONDS)
        ) as (running, _),
    ):
        yield running


@pytest.fixture
async def impatient_api(impatient: Running) -> AsyncIterator[CheckoutApi]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        yield CheckoutApi(client=client, running=impatient)
    assert impatient.exited() == {}, f"a service exited: {impatient.exited()}"


async def test_no_answer_in_time_cancels_the_order_and_holds_nothing(
    impatient_api: CheckoutApi,
) -> None:
    api = impatient_api
    product = await fresh_product(api)
    order = await placed(api, card_3ds_order(product))

    done = await ended(api, order["id"])

    assert done["status"] == "cancelled"
    assert (done["failure"]["step"], done["failure"]["code"]) == ("payment", "event_timeout")
    assert payment_states(await api.payments(order["id"])) == [("voided", "20.00")]
    assert await api.reservations(order["id"]) == []
    assert await api.shipments(order["id"]) == []
    assert await api.stock(product) == 10


async def test_an_answer_after_the_timeout_is_refused_everywhere_and_moves_no_money(
    impatient_api: CheckoutApi,
) -> None:
    api = impatient_api
    order = await placed(api, card_3ds_order(await fresh_product(api)))
    challenge = order["next_action"]["challenge_id"]
    await ended(api, order["id"])

    by_customer = await confirm(api, order, "confirmed")
    at_payment = await api.client.post(
        api.url("payment", "/payments/confirmations"),
        json={"challenge_id": challenge, "outcome": "confirmed"},
        headers={**api.service_auth, "Idempotency-Key": f"late-{uuid.uuid4()}"},
    )
    by_webhook = await api.client.post(
        api.url("orders", "/payment-events"),
        json={
            "event_id": str(uuid.uuid4()),
            "order_id": order["id"],
            "payment_id": "p-late",
            "challenge_id": challenge,
            "outcome": "confirmed",
        },
        headers=api.service_auth,
    )

    assert by_customer.status_code == 409, by_customer.text
    assert by_customer.json()["detail"]["code"] == "confirmation_timed_out"
    assert at_payment.status_code == 409, at_payment.text
    assert at_payment.json()["detail"]["code"] == "payment_voided"
    assert by_webhook.status_code == 409, by_webhook.text
    assert by_webhook.json()["detail"]["code"] == "confirmation_timed_out"
    assert payment_states(await api.payments(order["id"])) == [("voided", "20.00")]
