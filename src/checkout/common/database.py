"""A service's database: one async engine and a transaction context the routes own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sagakit.database import create_engine


class Database:
    """Wraps the engine so routes open exactly one transaction per request."""

    def __init__(self, url: str, **options: Any) -> None:
        self.engine: AsyncEngine = create_engine(url, **options)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a transaction: committed on success, rolled back on error."""
        async with self.engine.begin() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()


async def lock_order(connection: AsyncConnection, order_id: str) -> None:
    """Serialise every write about one order until the transaction ends.

    A forward action and its compensation can arrive concurrently (a timed-out call is
    still running when the orchestrator compensates). Without a lock both could read
    "nothing there" and both write, leaving a charge nobody refunds. PostgreSQL gets a
    transaction-scoped advisory lock; SQLite needs nothing, because every transaction
    there starts with ``BEGIN IMMEDIATE`` and so already holds the single write lock.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:order_id))"), {"order_id": order_id}
        )
