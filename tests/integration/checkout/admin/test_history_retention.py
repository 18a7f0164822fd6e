"""Pruning finished sagas' history from the order service: the orders stay and still
tell how they ended; a failed saga (it needs an operator) stays whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from checkout.books import read_orders
from sagakit import open_database
from tests.conftest import DatabaseFactory
from tests.integration.checkout.admin.conftest import Orders, orders_service
from tests.integration.checkout.conftest import ADMIN


@pytest.fixture
async def orders(make_database_url: DatabaseFactory) -> AsyncIterator[Orders]:
    # Retention is set, but the background pass runs at start only: the test prunes.
    url = await make_database_url("orders")
    async with orders_service(url, prune_interval_seconds=3600) as service:
        yield service


async def settle_three(orders: Orders) -> tuple[str, str, str]:
    """A completed order, a cancelled one and one whose saga failed."""
    completed = await orders.place()
    await orders.settled(completed)
    orders.participants.answers["shipping/shipments"] = 422
    cancelled = await orders.place()
    await orders.settled(cancelled)
    orders.participants.answers["payment/payments/refunds"] = 500
    failed = await orders.place()
    assert (await orders.settled(failed))["status"] == "failed"
    return completed, cancelled, failed


async def prune(orders: Orders, **body: Any) -> dict[str, Any]:
    response = await orders.client.post("/admin/sagas/prune", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def order(orders: Orders, order_id: str) -> dict[str, Any]:
    response = await orders.client.get(f"/orders/{order_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_dry_run_counts_what_would_go_and_deletes_nothing(orders: Orders):
    completed, _cancelled, _failed = await settle_three(orders)

    answer = await prune(orders, older_than_seconds=0, dry_run=True)

    assert answer == {"dry_run": True, "sagas": 2, "rows": 0, "more": False}
    assert (await order(orders, completed))["saga"]["history"] == "kept"


async def test_pruned_orders_keep_their_status_and_failure_and_say_the_history_is_gone(
    orders: Orders,
):
    completed, cancelled, failed = await settle_three(orders)
    before = await order(orders, cancelled)

    answer = await prune(orders, older_than_seconds=0)

    assert (answer["sagas"], answer["more"]) == (2, False)
    assert answer["rows"] > 2  # their attempts went with them
    done = await order(orders, completed)
    assert (done["status"], done["failure"], done["saga"]) == (
        "completed",
        None,
        {"id": completed, "status": "completed", "steps": [], "history": "pruned"},
    )
    gone = await order(orders, cancelled)
    assert gone["status"] == "cancelled" and gone["failure"] == before["failure"]
    assert gone["saga"]["history"] == "pruned"
    stuck = await order(orders, failed)
    assert stuck["status"] == "failed" and stuck["saga"]["history"] == "kept"
    assert (await orders.client.get(f"/admin/sagas/{completed}", headers=ADMIN)).status_code == 404
    assert (await orders.client.get(f"/admin/sagas/{failed}", headers=ADMIN)).status_code == 200


async def test_the_books_read_a_pruned_orders_status_from_the_order(
    make_database_url: DatabaseFactory,
):
    url = await make_database_url("orders")
    async with orders_service(url, prune_interval_seconds=3600) as orders:
        completed, cancelled, failed = await settle_three(orders)
        await prune(orders, older_than_seconds=0)
    engine = open_database(url)
    try:
        async with engine.connect() as connection:
            book = await connection.run_sync(read_orders)
    finally:
        await engine.dispose()

    assert book.statuses == {
        completed: "completed",
        cancelled: "compensated",
        failed: "failed",
    }


async def test_listing_by_status_finds_pruned_orders(orders: Orders):
    completed, cancelled, failed = await settle_three(orders)
    await prune(orders, older_than_seconds=0)

    listed = {}
    for status in ("completed", "cancelled", "failed", "pending"):
        response = await orders.client.get("/orders", params={"status": status}, headers=ADMIN)
        listed[status] = [item["id"] for item in response.json()["items"]]

    assert listed == {
        "completed": [completed],
        "cancelled": [cancelled],
        "failed": [failed],
        "pending": [],
    }


async def test_keep_last_keeps_the_most_recently_finished(orders: Orders):
    completed, cancelled, _failed = await settle_three(orders)

    answer = await prune(orders, keep_last=1)

    assert answer["sagas"] == 1
    assert (await order(orders, completed))["saga"]["history"] == "pruned"
    assert (await order(orders, cancelled))["saga"]["history"] == "kept"


async def test_a_prune_that_names_no_bound_is_refused_naming_the_fields(orders: Orders):
    response = await orders.client.post("/admin/sagas/prune", json={}, headers=ADMIN)

    assert response.status_code == 422
    assert "older_than_seconds" in response.text and "keep_last" in response.text


async def test_the_background_pruner_counts_what_it_deleted(make_database_url: DatabaseFactory):
    url = await make_database_url("orders")
    async with orders_service(url, prune_interval_seconds=3600) as orders:
        completed, _cancelled, _failed = await settle_three(orders)
    # Restarted with a zero retention: its first pass, at start, prunes both.
    async with orders_service(
        url, history_retention_seconds=0, prune_interval_seconds=3600
    ) as orders:
        for _ in range(1500):  # its first pass runs beside the requests: up to 30 s
            if (await order(orders, completed))["saga"]["history"] == "pruned":
                break
            await asyncio.sleep(0.02)
        text = (await orders.client.get("/metrics")).text

    assert sample(text, "checkout_saga_history_pruned_sagas_total") == 2


def sample(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name:
                return float(found.value)
    return 0.0
