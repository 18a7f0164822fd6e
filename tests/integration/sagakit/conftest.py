from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from sagakit import SqlSagaStore, create_engine
from sagakit.migrate import upgrade


@pytest.fixture
async def sql_store(database_url: str) -> AsyncIterator[SqlSagaStore]:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlSagaStore(engine, lease_duration=timedelta(seconds=5))
    yield store
    store.close()
    await engine.dispose()
