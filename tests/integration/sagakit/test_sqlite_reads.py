"""On SQLite, reads go on while a writer holds the database's write lock (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sagakit import SqlSagaStore, open_database
from sagakit.migrate import upgrade

SAGA_ROW = (
    "INSERT INTO sagakit_sagas (id, name, version, status, input, results, cursor, attempt, "
    "attempt_base, fencing_token, created_at, updated_at, next_attempt_at) "
    "VALUES ('uncommitted', 'n', 1, 'running', '{}', '{}', 0, 0, 0, 1, 0, 0, 0)"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlSagaStore]:
    engine = open_database(f"sqlite+aiosqlite:///{tmp_path / 'sagas.db'}")
    await upgrade(engine)
    store = SqlSagaStore(engine)
    yield store
    store.close()
    await engine.dispose()


@pytest.fixture
def writing(tmp_path: Path, store: SqlSagaStore) -> Iterator[None]:
    """Another connection in the middle of a write transaction, holding the lock."""
    writer = sqlite3.connect(tmp_path / "sagas.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(SAGA_ROW)
    yield
    writer.execute("ROLLBACK")
    writer.close()


@pytest.mark.usefixtures("writing")
async def test_reads_do_not_wait_for_a_writer_and_see_only_what_is_committed(
    store: SqlSagaStore,
) -> None:
    # Taking the write lock to read would wait out the 30 s busy timeout here.
    loaded = await asyncio.wait_for(store.load("uncommitted"), timeout=5)
    counts = await asyncio.wait_for(store.count_by_status(), timeout=5)

    assert loaded is None
    assert counts == {}
