"""Write transactions on one SQLite file, run on the event loop and committed together.

SQLite takes one writer at a time and a short transaction is quick, about as quick as
a hop to a worker thread and back, which would double its cost. So transactions run
on the event loop, on a connection whose busy timeout is zero: the loop never waits
for another connection's lock.

What the loop does wait for is the disk's fsync at commit, and under load there is one
per transaction. So the transactions asked for during one turn of the event loop
commit together, after it: one ``BEGIN``, each transaction in its own savepoint (one
that raises is rolled back alone and its caller gets the error), one ``COMMIT`` and
fsync for all. Nobody hears back before that commit, so each is as durable as if it
had committed alone. One transaction alone takes the plain path, without savepoints.

A batch that finds the write lock taken (by another process, an operator's tool, this
process's own reads-and-claims) runs instead on a writer thread, whose connection waits
up to the busy timeout; batches that come while one waits there queue behind it, so
they keep their order.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from sagakit.database import create_sync_engine
from sagakit.store.instrumentation import NOT_INSTRUMENTED, StoreInstrumentation

T = TypeVar("T")


@dataclass(frozen=True)
class _Request(Generic[T]):
    work: Callable[[Connection], T]
    managed: bool
    answer: asyncio.Future[T]


@dataclass(frozen=True)
class _Outcome:
    result: Any = None
    error: BaseException | None = None


class SqliteTransactions:
    """Transactions on one SQLite file: on the event loop, committed a turn at a time."""

    def __init__(
        self,
        path: str,
        *,
        thread_name: str,
        instrumentation: StoreInstrumentation | None = None,
    ) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._waiting_engine = create_sync_engine(f"sqlite:///{path}", poolclass=StaticPool)
        self._loop_engine = create_sync_engine(
            f"sqlite:///{path}",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": 0},
        )
        event.listen(self._loop_engine, "connect", _never_wait)
        self._instrumentation = instrumentation or NOT_INSTRUMENTED
        if instrumentation is not None:
            sent = instrumentation.statement_sent
            for engine in (self._waiting_engine, self._loop_engine):
                event.listen(engine, "connect", functools.partial(_trace_statements, sent))
        self._waiting: Connection | None = None
        self._on_loop: Connection | None = None
        self._asked: list[_Request[Any]] = []
        self._queued = 0

    async def run(
        self, work: Callable[[Connection], T], *, managed: bool = True, on_loop: bool = True
    ) -> T:
        """``work(connection)`` in one write transaction: committed when this returns,
        rolled back when it raises.

        ``managed`` is for code that writes through SQLAlchemy's connection. Code that
        writes only on the ``sqlite3`` connection underneath (:func:`driver`) can say
        ``managed=False``, and when it commits alone its BEGIN and COMMIT skip
        SQLAlchemy's bookkeeping. ``on_loop=False`` is for work that may take its time:
        it runs alone on the writer thread.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        request = _Request(work, managed, answer)
        if not on_loop:
            self._to_thread([request])
        else:
            self._asked.append(request)
            if len(self._asked) == 1:
                loop.call_soon(self._commit_asked)
        return await request.answer

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

    def _commit_asked(self) -> None:
        batch = [request for request in self._asked if not request.answer.cancelled()]
        self._asked = []
        if not batch:
            return
        if self._queued:  # earlier ones wait on the thread: these go behind them
            self._to_thread(batch)
            return
        try:
            if self._on_loop is None:
                self._on_loop = self._loop_engine.connect()
            outcomes = self._commit(self._on_loop, batch)
        except Exception as error:
            if _lock_taken(error):
                self._instrumentation.lock_waited()
                self._to_thread(batch)
            else:
                _answer(batch, _all_failed(batch, error))
            return
        _answer(batch, outcomes)

    def _to_thread(self, batch: list[_Request[Any]]) -> None:
        self._queued += 1
        done = asyncio.get_running_loop().run_in_executor(self._thread, self._on_thread, batch)

        def answer(future: asyncio.Future[list[_Outcome]]) -> None:
            self._queued -= 1
            error = future.exception()
            _answer(batch, future.result() if error is None else _all_failed(batch, error))

        done.add_done_callback(answer)

    def _on_thread(self, batch: list[_Request[Any]]) -> list[_Outcome]:
        if self._waiting is None:
            self._waiting = self._waiting_engine.connect()
        return self._commit(self._waiting, batch)

    def _commit(self, connection: Connection, batch: list[_Request[Any]]) -> list[_Outcome]:
        """Run the batch in one transaction. Raises only when the transaction as a whole
        could not begin or commit; each request's own error is in its outcome."""
        if len(batch) == 1:
            alone = batch[0]
            run_alone = _managed if alone.managed else _unmanaged
            outcome = run_alone(connection, alone.work)
            self._instrumentation.transaction_committed()
            return [outcome]
        outcomes = []
        with connection.begin():  # BEGIN IMMEDIATE (sagakit.database)
            db = driver(connection)
            for request in batch:
                db.execute("SAVEPOINT request")
                try:
                    outcomes.append(_Outcome(result=request.work(connection)))
                except Exception as error:
                    db.execute("ROLLBACK TO request")
                    outcomes.append(_Outcome(error=_as_sqlalchemy(error)))
                db.execute("RELEASE request")
        self._instrumentation.transaction_committed()
        return outcomes


def _trace_statements(sent: Callable[[], None], dbapi_connection: Any, _record: Any) -> None:
    """Every statement the driver runs, BEGIN, COMMIT and savepoints included."""
    dbapi_connection.set_trace_callback(lambda _statement: sent())


def driver(connection: Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under SQLAlchemy's, inside the same transaction."""
    dbapi: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    return dbapi


def _managed(connection: Connection, work: Callable[[Connection], Any]) -> _Outcome:
    transaction = connection.begin()  # BEGIN IMMEDIATE (sagakit.database); may raise
    try:
        result = work(connection)
    except Exception as error:
        transaction.rollback()
        return _Outcome(error=_as_sqlalchemy(error))
    transaction.commit()
    return _Outcome(result=result)


def _unmanaged(connection: Connection, work: Callable[[Connection], Any]) -> _Outcome:
    db = driver(connection)
    db.execute("BEGIN IMMEDIATE")  # may raise
    try:
        result = work(connection)
    except Exception as error:
        db.execute("ROLLBACK")
        return _Outcome(error=_as_sqlalchemy(error))
    db.execute("COMMIT")
    return _Outcome(result=result)


def _answer(batch: list[_Request[Any]], outcomes: list[_Outcome]) -> None:
    for request, outcome in zip(batch, outcomes, strict=True):
        if request.answer.cancelled():
            continue
        if outcome.error is not None:
            request.answer.set_exception(outcome.error)
        else:
            request.answer.set_result(outcome.result)


def _all_failed(batch: list[_Request[Any]], error: BaseException) -> list[_Outcome]:
    return [_Outcome(error=error)] * len(batch)


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


def _as_sqlalchemy(error: Exception) -> Exception:
    """The driver's integrity error as SQLAlchemy's, which is what callers catch."""
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(None, None, error)
    return error
