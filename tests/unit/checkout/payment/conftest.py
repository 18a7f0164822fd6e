"""A freshly migrated payment database per test, for calling the domain functions directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from checkout.common.database import Database
from checkout.migrations import upgrade_all


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """The test's database, migrated to head (synchronous: upgrade_all runs its own loop)."""
    upgrade_all({"payment": database_url})
    return database_url


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Database]:
    database = Database(migrated_url)
    yield database
    await database.dispose()
