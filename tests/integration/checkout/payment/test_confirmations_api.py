"""The payment API for a card that asks its holder (3-D Secure), on a real database: the
challenge, its answer under an idempotency key, and the void of an unconfirmed payment."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.integration.checkout.conftest import SERVICE, Service
from tests.integration.checkout.payment.test_payments_api import charge_body, payments_of, post


async def challenged(client: httpx.AsyncClient) -> dict[str, Any]:
    """A 3DS charge's answer."""
    response = await post(client, "/payments", charge_body(payment_method="card_3ds"))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def answer(
    client: httpx.AsyncClient, challenge_id: str, outcome: str, *, key: str = "answer-1"
) -> httpx.Response:
    body = {"challenge_id": challenge_id, "outcome": outcome}
    return await post(client, "/payments/confirmations", body, key=key)


async def test_a_3ds_charge_answers_201_with_a_challenge_and_captures_nothing(
    payment: Service,
) -> None:
    charged = await challenged(payment.client)

    assert charged == {
        "id": charged["id"],
        "order_id": charged["order_id"],
        "amount": "25.00",
        "status": "requires_confirmation",
        "challenge": {"id": charged["challenge"]["id"], "kind": "3ds"},
    }
    assert await payments_of(payment.client, charged["order_id"]) == [charged]


async def test_a_confirmation_captures_and_answers_the_payment(payment: Service) -> None:
    charged = await challenged(payment.client)

    response = await answer(payment.client, charged["challenge"]["id"], "confirmed")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "payment_id": charged["id"],
        "order_id": charged["order_id"],
        "challenge_id": charged["challenge"]["id"],
        "outcome": "confirmed",
        "status": "captured",
    }
    [stored] = await payments_of(payment.client, charged["order_id"])
    assert stored["status"] == "captured"


async def test_an_answer_sent_again_under_its_key_is_replayed(payment: Service) -> None:
    charged = await challenged(payment.client)
    first = await answer(payment.client, charged["challenge"]["id"], "declined")

    again = await answer(payment.client, charged["challenge"]["id"], "declined")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_key_reused_for_another_answer_is_refused_with_422(payment: Service) -> None:
    charged = await challenged(payment.client)
    await answer(payment.client, charged["challenge"]["id"], "declined", key="k")

    reused = await answer(payment.client, charged["challenge"]["id"], "confirmed", key="k")

    assert reused.status_code == 422
    assert reused.json()["detail"]["code"] == "idempotency_key_reused"


async def test_another_answer_under_another_key_is_refused_with_409(payment: Service) -> None:
    charged = await challenged(payment.client)
    await answer(payment.client, charged["challenge"]["id"], "declined", key="first")

    other = await answer(payment.client, charged["challenge"]["id"], "confirmed", key="second")

    assert other.status_code == 409
    assert other.json()["detail"]["code"] == "challenge_answered"
    [stored] = await payments_of(payment.client, charged["order_id"])
    assert stored["status"] == "declined"


async def test_the_refund_of_an_unconfirmed_payment_voids_it_and_closes_the_challenge(
    payment: Service,
) -> None:
    charged = await challenged(payment.client)
    refund_body = {"order_id": charged["order_id"], "amount": "25.00"}

    voided = await post(payment.client, "/payments/refunds", refund_body, key="refund-1")
    late = await answer(payment.client, charged["challenge"]["id"], "confirmed")

    assert voided.status_code == 200, voided.text
    assert voided.json() == {"order_id": charged["order_id"], "status": "voided", "amount": "25.00"}
    assert late.status_code == 409
    assert late.json()["detail"]["code"] == "payment_voided"
    [stored] = await payments_of(payment.client, charged["order_id"])
    assert stored["status"] == "voided"


async def test_an_unknown_challenge_is_404(payment: Service) -> None:
    response = await answer(payment.client, str(uuid.uuid4()), "confirmed")

    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "challenge_not_found"


async def test_an_answer_needs_the_service_token_and_a_known_outcome(payment: Service) -> None:
    body = {"challenge_id": str(uuid.uuid4()), "outcome": "maybe"}
    anonymous = await payment.client.post(
        "/payments/confirmations", json=body, headers={"Idempotency-Key": "k"}
    )
    malformed = await payment.client.post(
        "/payments/confirmations", json=body, headers={**SERVICE, "Idempotency-Key": "k"}
    )

    assert anonymous.status_code == 401
    assert malformed.status_code == 422
    assert [error["loc"] for error in malformed.json()["detail"]] == [["body", "outcome"]]
