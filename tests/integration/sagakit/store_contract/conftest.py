"""Every store, one contract: the same tests run on the in-memory store, on SQLite and
(with ``TEST_DATABASE=postgresql``) on PostgreSQL.

The PostgreSQL parameter exists only when PostgreSQL is asked for, so a run on SQLite
neither connects to it nor reports it as skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from sagakit import InMemorySagaStore, SagaStore, SqlSagaStore, open_database
from sagakit.migrate import upgrade
from tests.conftest import (
    _create_postgres_database,
    _drop_postgres_database,
    test_database_backend,
)

SQL_BACKENDS = ["sqlite", "sqlite-in-memory"] + (
    ["postgresql"] if test_database_backend() == "postgresql" else []
)
"""``sqlite-in-memory`` writes through SQLAlchemy's engine, not SQLite's own transport."""
ALL_BACKENDS = ["memory", *SQL_BACKENDS]
CONCURRENT_BACKENDS = [backend for backend in ALL_BACKENDS if backend != "sqlite-in-memory"]
"""Stores that take transactions side by side (an in-memory SQLite database is one
connection: one transaction at a time)."""

LONG_LEASE = timedelta(minutes=10)
"""Long enough that no test, however slow the machine, sees it expire."""

StoreFactory = Callable[[timedelta], Awaitable[SagaStore]]
"""The test's store, with the lease duration it needs (call it once per test)."""


@pytest.fixture(params=ALL_BACKENDS)
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with _stores(str(request.param), tmp_path) as make:
        yield make


@pytest.fixture
async def store(make_store: StoreFactory) -> SagaStore:
    return await make_store(LONG_LEASE)


@pytest.fixture(params=CONCURRENT_BACKENDS)
async def concurrent_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SagaStore]:
    async with _stores(str(request.param), tmp_path) as make:
        yield await make(LONG_LEASE)


@pytest.fixture(params=SQL_BACKENDS)
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlSagaStore]:
    """For what only the SQL stores offer: rows alongside, lists and counts."""
    async with _stores(str(request.param), tmp_path) as make:
        made = await make(LONG_LEASE)
        assert isinstance(made, SqlSagaStore)
        yield made


@asynccontextmanager
async def _stores(backend: str, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with AsyncExitStack() as exits:
        url = await _database(backend, tmp_path, exits)

        async def make(lease: timedelta) -> SagaStore:
            if url is None:
                return InMemorySagaStore(lease_duration=lease)
            engine = open_database(url)
            exits.push_async_callback(engine.dispose)
            await upgrade(engine)
            store = SqlSagaStore(engine, lease_duration=lease)
            exits.callback(store.close)
            return store

        yield make


async def _database(backend: str, tmp_path: Path, exits: AsyncExitStack) -> str | None:
    if backend == "memory":
        return None
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'sagas.db'}"
    if backend == "sqlite-in-memory":
        return "sqlite+aiosqlite:///:memory:"
    name = f"t_contract_{uuid.uuid4().hex[:12]}"
    url = await _create_postgres_database(name)
    exits.push_async_callback(_drop_postgres_database, name)
    return url
