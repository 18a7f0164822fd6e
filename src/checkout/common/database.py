"""A service's database, with two ways in.

``run`` executes a whole transaction as one plain function. That is how the
participants work: their rules are short synchronous functions, and through
SQLAlchemy's async SQLite driver every statement would cost several hops between the
event loop and the driver's thread, where one function costs one hop at most. On
SQLite the function runs on the event loop itself unless another connection holds the
write lock (:mod:`sagakit.store.sqlite_transactions`: a hop to a thread costs about as much
as a short transaction); on PostgreSQL, where every statement waits for the server, on
a worker thread per pooled connection.

``reading`` is an async connection on the event loop for reads only (the order
service's: its writes join the saga store's); on SQLite it reads beside the writer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sagakit.database import create_sync_engine, open_database, reading
from sagakit.store import SqliteTransactions

P = ParamSpec("P")
T = TypeVar("T")

POSTGRES_THREADS = 8


class Database:
    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._options = options
        self._engine: AsyncEngine | None = None
        self._blocking: Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._sqlite: SqliteTransactions | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The async engine, created on first use."""
        if self._engine is None:
            self._engine = open_database(self.url, **self._options)
        return self._engine

    async def run(
        self,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(connection, *args, **kwargs)`` in one transaction: committed when it
        returns, rolled back when it raises."""
        if self.is_sqlite:
            if self._sqlite is None:
                path = make_url(self.url).database or ""
                self._sqlite = SqliteTransactions(path, thread_name="database")
            return await self._sqlite.run(lambda connection: work(connection, *args, **kwargs))
        if self._threads is None:
            self._threads = ThreadPoolExecutor(POSTGRES_THREADS, thread_name_prefix="database")
        call = functools.partial(self._transact, self._blocking_engine(), work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness probes). It reads,
        so on SQLite it never waits for, or holds, the write lock."""
        async with self.reading() as connection:
            await connection.execute(text("SELECT 1"))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads only (on SQLite it reads beside the writer)."""
        async with reading(self.engine) as connection:
            yield connection

    async def dispose(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        if self._blocking is not None:
            self._blocking.dispose()
            self._blocking = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def _blocking_engine(self) -> Engine:
        """The worker threads' engine, created on the event loop: created lazily on the
        threads themselves, a burst of first requests made one engine (and one pool) per
        thread, and leaked all but the last."""
        if self._blocking is None:
            options = {"pool_size": POSTGRES_THREADS, **self._options}
            self._blocking = create_sync_engine(self.url, **options)
        return self._blocking

    @staticmethod
    def _transact(engine: Engine, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with engine.begin() as connection:
            return work(connection, *args, **kwargs)


def lock_order(connection: Connection, order_id: str) -> None:
    """Serialise every write about one order until the transaction ends.

    A forward action and its compensation can arrive concurrently (a timed-out call is
    still running when the orchestrator compensates). Without a lock both could read
    "nothing there" and both write, leaving a charge nobody refunds. PostgreSQL gets a
    transaction-scoped advisory lock; SQLite needs nothing, because every transaction
    there starts with ``BEGIN IMMEDIATE`` and so already holds the single write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:order_id))"), {"order_id": order_id}
        )


KEY_LOCKS = 0x5A6B
"""The first key of the two-key advisory locks taken on idempotency keys, so they never
share a lock with :func:`lock_order`'s one-key locks."""


def lock_key(connection: Connection, idempotency_key: str) -> None:
    """Serialise every request under one idempotency key until the transaction ends.

    A copy of a request that arrives while the first is still being decided waits
    here, then finds the first one's answer. As in :func:`lock_order`, SQLite needs
    nothing more than the write lock its ``BEGIN IMMEDIATE`` already holds.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": KEY_LOCKS, "key": idempotency_key},
        )
