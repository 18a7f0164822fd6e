"""The payment API on a real database: charges, refunds, idempotency, validation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkout.payment.app import create_app
from checkout.payment.settings import PaymentSettings
from checkout.payment.tables import refunds
from tests.integration.checkout.conftest import SERVICE, Serve, Service
from tests.support.keys import keyed


def charge_body(order_id: str | None = None, **changes: Any) -> dict[str, Any]:
    body = {
        "order_id": order_id or str(uuid.uuid4()),
        "customer_id": "cust123",
        "amount": "25.00",
        "payment_method": "credit_card",
    }
    return {**body, **changes}


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str = "k-1"
) -> httpx.Response:
    return await client.post(path, json=body, headers={**SERVICE, **keyed(key)})


async def payments_of(client: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await client.get("/payments", params={"order_id": order_id}, headers=SERVICE)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_health_is_public(payment: Service) -> None:
    response = await payment.client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_charge_captures_and_answers_amount_as_two_decimal_string(
    payment: Service,
) -> None:
    body = charge_body(amount=25)
    response = await post(payment.client, "/payments", body)
    assert response.status_code == 201
    answer = response.json()
    assert answer == {
        "id": answer["id"],
        "order_id": body["order_id"],
        "amount": "25.00",
        "status": "captured",
    }
    assert await payments_of(payment.client, body["order_id"]) == [answer]


async def test_declined_card_answers_402_and_stores_nothing(payment: Service) -> None:
    body = charge_body(payment_method="declined_card")
    response = await post(payment.client, "/payments", body)
    assert response.status_code == 402
    assert response.json()["detail"]["code"] == "payment_declined"
    assert await payments_of(payment.client, body["order_id"]) == []


async def test_replayed_charge_returns_first_answer_and_charges_once(payment: Service) -> None:
    body = charge_body()
    first = await post(payment.client, "/payments", body)
    again = await post(payment.client, "/payments", body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert len(await payments_of(payment.client, body["order_id"])) == 1


async def test_concurrent_charges_with_one_key_charge_once(payment: Service) -> None:
    body = charge_body()
    answers = await asyncio.gather(*(post(payment.client, "/payments", body) for _ in range(8)))
    assert {(a.status_code, a.json()["id"]) for a in answers} == {(201, answers[0].json()["id"])}
    assert len(await payments_of(payment.client, body["order_id"])) == 1


async def test_key_reused_for_another_order_is_refused(payment: Service) -> None:
    await post(payment.client, "/payments", charge_body())
    response = await post(payment.client, "/payments", charge_body())
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"


async def test_second_charge_for_an_order_under_another_key_is_refused(
    payment: Service,
) -> None:
    body = charge_body()
    await post(payment.client, "/payments", body, key="first")
    response = await post(payment.client, "/payments", body, key="second")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "already_charged"


async def test_refund_returns_the_capture_once(payment: Service) -> None:
    body = charge_body()
    await post(payment.client, "/payments", body)
    refund = {"order_id": body["order_id"], "amount": "25.00"}
    first = await post(payment.client, "/payments/refunds", refund, key="r-1")
    again = await post(payment.client, "/payments/refunds", refund, key="r-1")
    other_key = await post(payment.client, "/payments/refunds", refund, key="r-2")
    expected = {"order_id": body["order_id"], "status": "refunded", "amount": "25.00"}
    for response in (first, again, other_key):
        assert (response.status_code, response.json()) == (200, expected)
    [stored] = await payments_of(payment.client, body["order_id"])
    assert stored["status"] == "refunded"
    async with payment.database.reading() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(refunds))
    assert count == 1


async def test_refund_without_a_payment_is_a_no_op(payment: Service) -> None:
    order_id = str(uuid.uuid4())
    refund = {"order_id": order_id, "amount": "25.00"}
    for _ in range(2):
        response = await post(payment.client, "/payments/refunds", refund, key="r-1")
        expected = {"order_id": order_id, "status": "nothing_to_refund"}
        assert (response.status_code, response.json()) == (200, expected)


async def test_charge_arriving_after_its_compensation_is_refused(payment: Service) -> None:
    body = charge_body()
    refund = {"order_id": body["order_id"], "amount": "25.00"}
    await post(payment.client, "/payments/refunds", refund, key="r-1")
    response = await post(payment.client, "/payments", body, key="late")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "order_compensated"
    assert await payments_of(payment.client, body["order_id"]) == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [("30.00", "refund_exceeds_capture"), ("10.00", "refund_amount_mismatch")],
)
async def test_refund_of_another_amount_is_refused(
    payment: Service, amount: str, code: str
) -> None:
    body = charge_body()
    await post(payment.client, "/payments", body)
    refund = {"order_id": body["order_id"], "amount": amount}
    response = await post(payment.client, "/payments/refunds", refund, key="r-1")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == code
    [stored] = await payments_of(payment.client, body["order_id"])
    assert stored["status"] == "captured"


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": "1.005"},
        {"amount": "-1.00"},
        {"amount": "0"},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "1000000000.01"},
        {"order_id": "not-a-uuid"},
        {"payment_method": "cash"},
        {"customer_id": "x" * 201},
        {"unexpected": "field"},
    ],
)
async def test_invalid_charge_is_refused_with_422(
    payment: Service, changes: dict[str, Any]
) -> None:
    response = await post(payment.client, "/payments", charge_body(**changes))
    assert response.status_code == 422


@pytest.mark.parametrize("key", [None, "", "k" * 201])
async def test_charge_needs_an_idempotency_key_of_1_to_200_chars(
    payment: Service, key: str | None
) -> None:
    headers = {**SERVICE, **keyed("k")}
    if key is None:
        del headers["Idempotency-Key"]
    else:
        headers["Idempotency-Key"] = key
    response = await payment.client.post("/payments", json=charge_body(), headers=headers)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["header", "Idempotency-Key"]]


async def test_listing_needs_a_valid_order_id(payment: Service) -> None:
    response = await payment.client.get("/payments", params={"order_id": "x"}, headers=SERVICE)
    assert response.status_code == 422


@pytest.mark.parametrize("disabled", [False, True])
async def test_idempotency_disabled_switch_makes_a_replay_charge_again(
    serve: Serve, disabled: bool
) -> None:
    payment = await serve("payment", create_app, PaymentSettings, idempotency_disabled=disabled)
    body = charge_body()
    first = await post(payment.client, "/payments", body)
    replay = await post(payment.client, "/payments", body)
    assert (first.status_code, replay.status_code) == (201, 201)
    charged = await payments_of(payment.client, body["order_id"])
    assert len(charged) == (2 if disabled else 1)
    assert (replay.json()["id"] == first.json()["id"]) is not disabled

    # The saga's one compensation refunds one payment: a charged-twice order keeps one
    # capture, which is what the chaos checker must find.
    refund = {"order_id": body["order_id"], "amount": "25.00"}
    for _ in range(2):
        response = await post(payment.client, "/payments/refunds", refund, key="r-1")
        assert (response.status_code, response.json()["status"]) == (200, "refunded")
    statuses = sorted(p["status"] for p in await payments_of(payment.client, body["order_id"]))
    assert statuses == (["captured", "refunded"] if disabled else ["refunded"])


async def test_each_refund_key_refunds_at_most_one_payment(serve: Serve) -> None:
    payment = await serve("payment", create_app, PaymentSettings, idempotency_disabled=True)
    body = charge_body()
    for _ in range(2):
        await post(payment.client, "/payments", body)
    refund = {"order_id": body["order_id"], "amount": "25.00"}
    for key in ("r-1", "r-2", "r-3"):
        response = await post(payment.client, "/payments/refunds", refund, key=key)
        assert (response.status_code, response.json()["status"]) == (200, "refunded")
    async with payment.database.reading() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(refunds))
    assert count == 2
    statuses = {p["status"] for p in await payments_of(payment.client, body["order_id"])}
    assert statuses == {"refunded"}
