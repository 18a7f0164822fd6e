from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from sagakit import SqlSagaStore, open_database
from sagakit.migrate import upgrade
from sagakit.store import StoreCounters


@pytest.fixture
def store_counters() -> StoreCounters:
    """What ``sql_store`` reports: its statements, commits and lock waits."""
    return StoreCounters()


@pytest.fixture
async def sql_store(
    database_url: str, store_counters: StoreCounters
) -> AsyncIterator[SqlSagaStore]:
    engine = open_database(database_url)
    await upgrade(engine)
    store = SqlSagaStore(
        engine, lease_duration=timedelta(seconds=5), instrumentation=store_counters
    )
    yield store
    store.close()
    await engine.dispose()
