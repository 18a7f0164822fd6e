"""The admin API on a real database: listing, timelines, retries and aborts."""

from __future__ import annotations

import pytest

from tests.integration.checkout.admin.conftest import Orders
from tests.integration.checkout.conftest import ADMIN, SERVICE

UNDELIVERABLE = "XX"


@pytest.mark.parametrize("headers", [{}, SERVICE, {"Authorization": "Bearer wrong"}])
async def test_every_admin_endpoint_needs_the_admin_token(
    orders: Orders, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", "/admin/sagas?limit=not-a-number"),
        ("GET", "/admin/counts"),
        ("GET", "/admin/sagas/x"),
        ("GET", "/admin/sagas/x/timeline.svg"),
        ("POST", "/admin/sagas/x/retry"),
        ("POST", "/admin/sagas/x/abort"),
    ]:
        response = await orders.client.request(method, path, headers=headers, content=b"{bad")
        assert response.status_code == 401, (method, path, response.text)


async def test_a_completed_saga_shows_every_forward_attempt(orders: Orders) -> None:
    saga_id = await orders.place()

    detail = await orders.settled(saga_id)

    assert detail["status"] == "completed"
    assert detail["steps"] == ["payment", "inventory", "shipping"]
    assert [(a["step"], a["direction"], a["status"]) for a in detail["attempts"]] == [
        ("payment", "forward", "succeeded"),
        ("inventory", "forward", "succeeded"),
        ("shipping", "forward", "succeeded"),
    ]
    payment = detail["attempts"][0]
    assert payment["idempotency_key"] == f"{saga_id}:payment:forward"
    assert payment["finished_at"] >= payment["started_at"]
    assert detail["subject"] == "cust-1"


async def test_a_refused_step_shows_the_compensations_in_reverse_order(orders: Orders) -> None:
    orders.participants.answers["shipping/shipments"] = 422
    saga_id = await orders.place(country=UNDELIVERABLE)

    detail = await orders.settled(saga_id)

    assert detail["status"] == "compensated"
    assert detail["failure"]["step"] == "shipping"
    undone = [a["step"] for a in detail["attempts"] if a["direction"] == "compensate"]
    assert undone == ["inventory", "payment"]


async def test_the_list_filters_by_status_customer_and_age(orders: Orders) -> None:
    completed = await orders.place()
    await orders.settled(completed)
    orders.participants.answers["payment/payments"] = 422
    cancelled = await orders.place()
    await orders.settled(cancelled)

    async def ids(query: str) -> list[str]:
        response = await orders.client.get(f"/admin/sagas?{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("") == [cancelled, completed]
    assert await ids("status=compensated") == [cancelled]
    assert await ids("subject=cust-1&definition=checkout") == [cancelled, completed]
    assert await ids("subject=somebody-else") == []
    assert await ids("older_than_seconds=3600") == []
    assert await ids("limit=1&offset=1") == [completed]
    page = (await orders.client.get("/admin/sagas?limit=1", headers=ADMIN)).json()
    assert page["total"] == 2
    counts = (await orders.client.get("/admin/counts", headers=ADMIN)).json()
    assert counts == {"counts": {"completed": 1, "compensated": 1}, "total": 2, "waiting": {}}


async def test_retrying_a_failed_saga_finishes_its_compensation_and_records_who(
    orders: Orders,
) -> None:
    orders.participants.answers["shipping/shipments"] = 422
    orders.participants.answers["payment/payments/refunds"] = 500
    saga_id = await orders.place()
    failed = await orders.settled(saga_id)
    assert failed["status"] == "failed"
    assert failed["compensation_failure"]["step"] == "payment"

    orders.participants.answers["payment/payments/refunds"] = 200
    response = await orders.client.post(
        f"/admin/sagas/{saga_id}/retry", headers={**ADMIN, "X-Actor": "alice"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] in {"compensating", "compensated"}
    detail = await orders.settled(saga_id)
    assert detail["status"] == "compensated"
    assert [(e["kind"], e["actor"]) for e in detail["events"]] == [("retry", "alice")]
    refunds = [a for a in detail["attempts"] if a["direction"] == "compensate"]
    assert [a["status"] for a in refunds if a["step"] == "payment"] == [
        "failed",
        "failed",
        "succeeded",
    ]


async def test_retrying_a_saga_that_did_not_fail_answers_409(orders: Orders) -> None:
    saga_id = await orders.place()
    await orders.settled(saga_id)

    response = await orders.client.post(f"/admin/sagas/{saga_id}/retry", headers=ADMIN)

    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "invalid_transition"


async def test_unknown_sagas_answer_404(orders: Orders) -> None:
    for method, path in [
        ("GET", "/admin/sagas/nope"),
        ("POST", "/admin/sagas/nope/retry"),
        ("POST", "/admin/sagas/nope/abort"),
        ("GET", "/admin/sagas/nope/timeline.svg"),
    ]:
        response = await orders.client.request(method, path, headers=ADMIN)
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"]["code"] == "saga_not_found"


async def test_aborting_a_running_saga_compensates_it_and_records_the_reason(
    orders: Orders,
) -> None:
    orders.participants.answers["payment/payments"] = 503  # retried for a few seconds
    saga_id = await orders.place()

    response = await orders.client.post(
        f"/admin/sagas/{saga_id}/abort", headers=ADMIN, json={"reason": "customer called"}
    )

    assert response.status_code == 200, response.text
    detail = await orders.settled(saga_id)
    assert detail["status"] == "compensated"
    assert detail["failure"]["code"] == "aborted"
    assert [(e["kind"], e["actor"], e["detail"]) for e in detail["events"]] == [
        ("abort", "admin", "customer called")
    ]
