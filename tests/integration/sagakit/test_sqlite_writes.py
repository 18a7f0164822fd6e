"""On SQLite, the store writes on the event loop and never blocks it for a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from sagakit import SagaEngine, SagaStatus, SqlSagaStore, open_database
from sagakit.migrate import upgrade
from sagakit.store import StoreCounters
from tests.support.app_tables import app_metadata, order_rows
from tests.support.participants import FakeParticipant, saga_over

WRITER_THREAD = "sagakit-sqlite"


def writer_threads() -> int:
    return sum(thread.name.startswith(WRITER_THREAD) for thread in threading.enumerate())


@pytest.fixture
def counters() -> StoreCounters:
    return StoreCounters()


@pytest.fixture
async def store(tmp_path: Path, counters: StoreCounters) -> AsyncIterator[SqlSagaStore]:
    engine = open_database(f"sqlite+aiosqlite:///{tmp_path / 'sagas.db'}")
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)
    store = SqlSagaStore(engine, instrumentation=counters)
    yield store
    store.close()
    await engine.dispose()


@pytest.fixture
def lock(tmp_path: Path, store: SqlSagaStore) -> Iterator[sqlite3.Connection]:
    """Another connection, ready to take the database's write lock."""
    other = sqlite3.connect(tmp_path / "sagas.db", isolation_level=None)
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


async def test_uncontended_writes_run_on_the_event_loop_without_a_thread(
    store: SqlSagaStore, counters: StoreCounters
):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=store, sagas=[saga])
    threads_before = writer_threads()

    started = await engine.start(
        saga, input={}, saga_id="o-1", alongside=order_rows("o-1", key="k1", prices=["2.50"])
    )
    done = await started.result()

    assert done.status is SagaStatus.COMPLETED
    assert writer_threads() == threads_before
    assert counters.lock_waits == 0


async def test_a_write_that_finds_the_lock_taken_waits_off_the_loop_and_later_writes_queue_behind(
    store: SqlSagaStore, lock: sqlite3.Connection, counters: StoreCounters
):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=store, sagas=[saga])
    lock.execute("BEGIN IMMEDIATE")

    first = asyncio.create_task(
        engine.start(saga, input={}, alongside=order_rows("o-1", key="k1", prices=["1"]))
    )
    await asyncio.sleep(0.2)
    second = asyncio.create_task(engine.start(saga, input={}))
    await asyncio.sleep(0.2)

    # Both wait for the lock, and the loop goes on: it reads beside the other writer.
    assert not first.done() and not second.done()
    assert await asyncio.wait_for(store.count_by_status(), timeout=5) == {}
    assert counters.lock_waits == 1  # the second never tried the loop: it queued
    lock.execute("COMMIT")
    created = await asyncio.wait_for(asyncio.gather(first, second), timeout=10)

    assert [(await saga.result()).status for saga in created] == [SagaStatus.COMPLETED] * 2
    # The lock is free again: the next writes run on the loop, rows alongside too.
    third = await engine.start(saga, input={})
    fourth = await engine.start(saga, input={}, alongside=order_rows("o-2", key="k2", prices=["2"]))
    await third.result()
    await fourth.result()
    assert counters.lock_waits == 1


async def test_an_application_function_alongside_runs_on_the_writer_thread(store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    ran_on: list[str] = []

    def record(connection: Connection) -> None:
        ran_on.append(threading.current_thread().name)
        connection.execute(
            text("INSERT INTO app_orders (id, total, address, placed_at) VALUES (:id, 1, '{}', 0)"),
            {"id": "r1"},
        )

    started = await SagaEngine(store=store, sagas=[saga]).start(saga, input={}, alongside=record)

    assert ran_on and ran_on[0].startswith(WRITER_THREAD)
    assert (await started.result()).status is SagaStatus.COMPLETED
