"""What only the SQL stores offer: an application's rows alongside, lists and counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sagakit import InMemorySagaStore, SagaStatus, SqlSagaStore
from tests.integration.sagakit.store_contract.states import failed, new_saga, start_of, succeeded
from tests.support.app_tables import app_lines, app_metadata, app_orders, order_rows


async def test_the_memory_store_refuses_writes_alongside():
    with pytest.raises(TypeError, match="use SqlSagaStore"):
        await InMemorySagaStore().create(
            new_saga(),
            owner="me",
            alongside=order_rows("o", key="k", prices=["1"]),  # type: ignore[arg-type]
        )


async def test_rows_alongside_are_stored_with_the_saga_and_its_first_attempt(
    sql_store: SqlSagaStore,
):
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)
    saga = new_saga("o-1")

    await sql_store.create(
        saga,
        owner="me",
        alongside=order_rows("o-1", key="k1", prices=["1.10", "2.20"]),
        first_attempt=start_of(saga),
    )

    async with sql_store.engine.connect() as connection:
        orders = (await connection.execute(select(app_orders.c.id))).scalars().all()
        lines = (await connection.execute(select(func.count()).select_from(app_lines))).scalar()
    assert (orders, lines) == (["o-1"], 2)
    assert [a.step for a in await sql_store.attempts("o-1")] == ["payment"]


async def test_a_refused_row_alongside_stores_neither_it_nor_the_saga(sql_store: SqlSagaStore):
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)
    await sql_store.create(
        new_saga("o-1"), owner="me", alongside=order_rows("o-1", key="k", prices=["1"])
    )

    with pytest.raises(IntegrityError):
        await sql_store.create(
            new_saga("o-2"), owner="me", alongside=order_rows("o-2", key="k", prices=["1"])
        )

    assert await sql_store.load("o-2") is None


async def test_a_function_alongside_runs_in_the_sagas_transaction(sql_store: SqlSagaStore):
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)

    def refuse(connection: object) -> None:
        raise RuntimeError("the application changed its mind")

    with pytest.raises(RuntimeError):
        await sql_store.create(new_saga("refused"), owner="me", alongside=refuse)

    assert await sql_store.load("refused") is None


async def test_sagas_are_listed_newest_first_and_counted_by_status(sql_store: SqlSagaStore):
    older = await sql_store.create(new_saga().evolve(created_at=100.0), owner="me")
    newer = await sql_store.create(new_saga().evolve(created_at=200.0), owner="me")
    await sql_store.transition(older, older.evolve(status=SagaStatus.COMPLETED))

    everything, total = await sql_store.list_sagas()
    completed, count = await sql_store.list_sagas(statuses=["completed"])
    page, _ = await sql_store.list_sagas(limit=1, offset=1)

    assert ([s.id for s in everything], total) == ([newer.id, older.id], 2)
    assert ([s.id for s in completed], count) == ([older.id], 1)
    assert [s.id for s in page] == [older.id]
    assert await sql_store.count_by_status() == {"completed": 1, "running": 1}


async def test_sagas_waiting_for_a_retry_are_listed_and_counted(sql_store: SqlSagaStore):
    saga = new_saga()
    created = await sql_store.create(saga, owner="me", first_attempt=start_of(saga))
    await sql_store.create(new_saga(), owner="me")
    await sql_store.finish_attempt(
        created,
        start_of(saga),
        failed(),
        created.evolve(attempt=1),
        retry_after=timedelta(hours=1),
        release=True,
    )

    waiting, total = await sql_store.list_sagas(waiting=True)

    assert ([s.id for s in waiting], total) == ([saga.id], 1)
    assert waiting[0].retry_at is not None
    assert await sql_store.count_waiting() == [("checkout", 1, "running", 0, 1)]


async def test_a_finished_attempts_result_is_read_back_as_json(sql_store: SqlSagaStore):
    saga = new_saga()
    created = await sql_store.create(saga, owner="me", first_attempt=start_of(saga))
    await sql_store.finish_attempt(
        created, start_of(saga), succeeded({"charge": "c-1"}), created.evolve(cursor=1)
    )

    [record] = await sql_store.attempts(saga.id)
    assert record.result == {"charge": "c-1"}
