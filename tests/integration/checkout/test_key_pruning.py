"""A participant forgets the answers and tombstones that expired, and only those, in
batches (checkout.common.pruning), on the backend under test."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa

from checkout.common.pruning import KeyPruner
from checkout.inventory.app import create_app
from checkout.inventory.settings import InventorySettings
from checkout.inventory.tables import answers, compensated_orders
from tests.integration.checkout.conftest import ADMIN, SERVICE, Serve, Service
from tests.support.keys import keyed
from tests.support.participants import FakeClock

NOW = 1_765_030_000.0
RETENTION = 7 * 86400


async def inventory_at(serve: Serve, clock: FakeClock, **settings: float) -> Service:
    return await serve("inventory", create_app, InventorySettings, clock=clock, **settings)


async def release(client: httpx.AsyncClient, key: str, *, issued_at: float) -> None:
    """A compensation with nothing to undo: an answer and a tombstone, issued then."""
    headers = {**SERVICE, **keyed(key, issued_at=issued_at, deadline=NOW + 5)}
    body = {"order_id": str(uuid.uuid4())}
    response = await client.post("/reservations/release", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def restock(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Under a key, without its times: an answer that never expires."""
    headers = {**ADMIN, "Idempotency-Key": key}
    return await client.post("/products/product1/restock", json={"quantity": 1}, headers=headers)


async def kept(service: Service) -> tuple[set[str], int]:
    """The keys whose answers are kept, and how many tombstones."""
    async with service.database.reading() as connection:
        keys = set((await connection.scalars(sa.select(answers.c.idempotency_key))).all())
        tombstones = await connection.scalar(
            sa.select(sa.func.count()).select_from(compensated_orders)
        )
    return keys, int(tombstones or 0)


async def test_pruning_forgets_only_what_expired(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await inventory_at(serve, clock)
    await release(inventory.client, "expired", issued_at=NOW - RETENTION - 1)
    await release(inventory.client, "kept", issued_at=NOW - RETENTION + 1)
    await restock(inventory.client, "untimed")

    pruned = await inventory.app.state.key_pruner.prune()

    assert pruned == {"answers": 1, "compensated_orders": 1}
    assert await kept(inventory) == ({"kept", "untimed"}, 1)


async def test_pruning_deletes_in_batches_of_its_size(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await inventory_at(serve, clock)
    for n in range(5):
        await release(inventory.client, f"expired-{n}", issued_at=NOW - RETENTION - 1)
    batches: list[tuple[str, int]] = []
    pruner = KeyPruner(
        database=inventory.database,
        tables=[answers, compensated_orders],
        clock=clock,
        batch=2,
        forgotten=lambda table, rows: batches.append((table, rows)),
    )

    pruned = await pruner.prune()

    assert pruned == {"answers": 5, "compensated_orders": 5}
    assert batches == [
        ("answers", 2),
        ("answers", 2),
        ("answers", 1),
        ("compensated_orders", 2),
        ("compensated_orders", 2),
        ("compensated_orders", 1),
    ]
    assert await kept(inventory) == (set(), 0)


async def test_an_answer_made_without_an_issue_time_is_kept_for_good(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await inventory_at(serve, clock)
    first = await restock(inventory.client, "untimed")
    clock.advance(10 * 365 * 86400)
    await inventory.app.state.key_pruner.prune()

    again = await restock(inventory.client, "untimed")

    assert (again.json(), again.headers["Idempotent-Replayed"]) == (first.json(), "true")
    assert (await inventory.client.get("/products/product1")).json()["available"] == 1001


async def test_forgotten_rows_are_counted_in_the_metrics(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await inventory_at(serve, clock)
    await release(inventory.client, "expired", issued_at=NOW - RETENTION - 1)

    await inventory.app.state.key_pruner.prune()

    metrics = (await inventory.client.get("/metrics")).text
    assert 'checkout_idempotency_records_forgotten_total{table="answers"} 1.0' in metrics
    assert 'checkout_idempotency_records_forgotten_total{table="compensated_orders"} 1.0' in metrics


async def test_a_running_participant_forgets_expired_rows_in_the_background(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await inventory_at(serve, clock, key_prune_interval_seconds=3600)
    await release(inventory.client, "expired", issued_at=NOW - RETENTION - 1)
    tombstones_forgotten = asyncio.Event()
    inventory.app.state.key_pruner = KeyPruner(
        database=inventory.database,
        tables=[answers, compensated_orders],
        clock=clock,
        forgotten=lambda table, _rows: (
            tombstones_forgotten.set() if table == "compensated_orders" else None
        ),
    )

    async with inventory.app.router.lifespan_context(inventory.app):
        await asyncio.wait_for(tombstones_forgotten.wait(), 60)  # a bound, not a timing

    assert await kept(inventory) == (set(), 0)
