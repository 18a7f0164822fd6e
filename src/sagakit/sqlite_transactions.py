"""Write transactions on one SQLite file, run on the event loop unless they must wait.

SQLite takes one writer at a time and a short transaction is quick (about 0.1–0.3 ms
with its fsync on the machines this was measured on), while a hop to a worker thread
and back costs about 0.2 ms of CPU and of wall time by itself. So a transaction runs
on the event loop, on a connection whose busy timeout is zero: the loop never waits for
another connection's lock. A transaction that finds the lock taken (by another
process, an operator's tool, this process's own reads-and-claims) runs instead on a
writer thread, whose connection waits up to the busy timeout; those that come while
one waits there queue behind it, so they keep their order. What the loop may still
wait for is the disk's fsync at commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from sagakit.database import create_sync_engine

T = TypeVar("T")
Transaction = Callable[[Connection, Callable[[Connection], T]], T]


class SqliteTransactions:
    """One transaction per call, on the event loop unless it must wait for the lock."""

    def __init__(self, path: str, *, thread_name: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._waiting_engine = create_sync_engine(f"sqlite:///{path}", poolclass=StaticPool)
        self._loop_engine = create_sync_engine(
            f"sqlite:///{path}", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        event.listen(self._loop_engine, "connect", _never_wait)
        for engine in (self._waiting_engine, self._loop_engine):
            event.listen(engine, "connect", self._count_statements)
        self._waiting: Connection | None = None
        self._on_loop: Connection | None = None
        self._queued = 0
        self.statements = 0
        """Statements executed so far, BEGIN and COMMIT included."""
        self.lock_waits = 0
        """Transactions that found another connection writing and waited on the thread."""

    async def run(
        self, work: Callable[[Connection], T], *, managed: bool = True, on_loop: bool = True
    ) -> T:
        """``work(connection)`` in one write transaction: committed when it returns,
        rolled back when it raises.

        ``managed`` lets SQLAlchemy run the transaction, for code that writes through
        the connection. Code that writes on the ``sqlite3`` connection underneath
        (:func:`driver`) can skip that bookkeeping with ``managed=False``: BEGIN and
        COMMIT then go to the driver directly. ``on_loop=False`` keeps work that may
        take its time off the event loop.
        """
        transaction: Transaction[T] = _managed if managed else _unmanaged
        if on_loop and self._queued == 0:
            if self._on_loop is None:
                self._on_loop = self._loop_engine.connect()
            try:
                return transaction(self._on_loop, work)
            except (sqlite3.OperationalError, OperationalError) as error:
                if not _lock_taken(error):
                    raise
            self.lock_waits += 1
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._on_thread, transaction, work
            )
        finally:
            self._queued -= 1

    def close(self) -> None:
        def shut() -> None:
            if self._waiting is not None:
                self._waiting.close()
                self._waiting = None
            self._waiting_engine.dispose()

        self._thread.submit(shut).result()
        self._thread.shutdown(wait=True)
        if self._on_loop is not None:
            self._on_loop.close()
            self._on_loop = None
        self._loop_engine.dispose()

    def _on_thread(self, transaction: Transaction[T], work: Callable[[Connection], T]) -> T:
        if self._waiting is None:
            self._waiting = self._waiting_engine.connect()
        return transaction(self._waiting, work)

    def _count_statements(self, dbapi_connection: Any, _record: Any) -> None:
        def count(_statement: str) -> None:
            self.statements += 1

        dbapi_connection.set_trace_callback(count)


def driver(connection: Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under SQLAlchemy's, inside the same transaction."""
    dbapi: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    return dbapi


def _managed(connection: Connection, work: Callable[[Connection], T]) -> T:
    try:
        with connection.begin():  # BEGIN IMMEDIATE (sagakit.database)
            return work(connection)
    except sqlite3.IntegrityError as error:
        raise _integrity_error(error) from error


def _unmanaged(connection: Connection, work: Callable[[Connection], T]) -> T:
    dbapi = driver(connection)
    dbapi.execute("BEGIN IMMEDIATE")
    try:
        result = work(connection)
    except sqlite3.IntegrityError as error:
        dbapi.execute("ROLLBACK")
        raise _integrity_error(error) from error
    except BaseException:
        dbapi.execute("ROLLBACK")
        raise
    dbapi.execute("COMMIT")
    return result


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    """The loop's connection fails at once when the write lock is taken, never blocks."""
    dbapi_connection.execute("PRAGMA busy_timeout = 0")


def _lock_taken(error: Exception) -> bool:
    """SQLITE_BUSY, or one of its extended codes (the low byte is the primary code)."""
    cause = getattr(error, "orig", error)
    return (
        isinstance(cause, sqlite3.OperationalError)
        and cause.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    )


def _integrity_error(error: sqlite3.IntegrityError) -> IntegrityError:
    """The driver's error as SQLAlchemy's, which is what callers catch elsewhere."""
    return IntegrityError(None, None, error)
