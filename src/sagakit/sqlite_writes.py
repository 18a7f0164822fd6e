"""The saga store's writes on SQLite, each one transaction, run on the event loop.

Through SQLAlchemy's async SQLite driver every statement is several hops between the
event loop and the driver's thread, and a step's write (three statements, begin and
commit) cost milliseconds. Here a whole write transaction is one call on a blocking
connection, and it runs on the event loop itself: on the 2-core virtual machines this
was measured on, a hop to a thread and back cost about 0.2 ms of CPU and of wall time,
close to the commit itself (0.3 ms with its fsync), and SQLite takes one writer at a
time anyway.

The loop never waits for another connection's lock: its connection's busy timeout is
zero, and a write that finds the lock taken (by the store's own reads-and-claims
engine, a worker process, an operator's tool) runs instead on the writer thread, whose
connection waits up to the busy timeout. Writes that come while one waits there queue
behind it, so they keep their order. What the loop may still wait for is the disk's
fsync at commit.

SQLAlchemy owns the transaction when an application's ``alongside`` writes are in it
(an arbitrary function of a connection runs on the writer thread: it may take its
time); the hot statements go straight to the ``sqlite3`` connection underneath, as
prepared SQL that mirrors the statements in ``sql_store``. Reads and claims go through
SQLAlchemy's async engine.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from sagakit.alongside import Alongside, as_function
from sagakit.database import create_sync_engine
from sagakit.errors import LeaseLost
from sagakit.state import AttemptEnd, AttemptStart, SagaEvent, SagaState

T = TypeVar("T")

NOW = "((julianday('now') - 2440587.5) * 86400.0)"

_FENCED_STATE = (
    "UPDATE sagakit_sagas SET status = ?, results = ?, cursor = ?, attempt = ?, "
    "attempt_base = ?, failure = ?, compensation_failure = ?, updated_at = ?, "
    f"next_attempt_at = {NOW} + ?, "
    "owner = CASE WHEN ? THEN NULL ELSE owner END, "
    f"lease_expires_at = CASE WHEN ? THEN NULL ELSE {NOW} + ? END "
    "WHERE id = ? AND fencing_token = ?"
)
_FENCED_RENEWAL = (
    f"UPDATE sagakit_sagas SET attempt = ?, updated_at = ?, lease_expires_at = {NOW} + ? "
    "WHERE id = ? AND fencing_token = ?"
)
_CLOSE_INTERRUPTED = (
    "UPDATE sagakit_attempts SET status = 'interrupted' WHERE saga_id = ? AND status = 'started'"
)
_START = (
    "INSERT INTO sagakit_attempts (saga_id, step, direction, attempt, idempotency_key, "
    "status, started_at) VALUES (?, ?, ?, ?, ?, 'started', ?)"
)
_FINISH = (
    "UPDATE sagakit_attempts SET status = ?, finished_at = ?, result = ?, error = ? "
    "WHERE saga_id = ? AND step = ? AND direction = ? AND attempt = ?"
)
_CREATE = (
    "INSERT INTO sagakit_sagas (id, name, version, status, input, results, cursor, attempt, "
    "attempt_base, failure, compensation_failure, deadline_at, owner, fencing_token, "
    "created_at, updated_at, lease_expires_at, next_attempt_at) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {NOW} + ?, {NOW})"
)
_EVENT = "INSERT INTO sagakit_events (saga_id, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?)"


class SqliteWriter:
    """One transaction per call, on the event loop unless it must wait for the lock."""

    def __init__(self, path: str, *, lease_seconds: float) -> None:
        self._lease = lease_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sagakit-sqlite")
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
        """Statements executed so far (what the benchmark reports per saga)."""
        self.lock_waits = 0
        """Writes that found another connection writing and waited on the writer thread."""

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: Alongside | None,
        first_attempt: AttemptStart | None,
    ) -> None:
        application = None if alongside is None else as_function(alongside)

        def work(connection: Connection) -> None:
            if application is not None:
                application(connection)
            _driver(connection).execute(
                _CREATE,
                (
                    state.id,
                    state.name,
                    state.version,
                    state.status.value,
                    _json(state.input),
                    _json(state.results),
                    state.cursor,
                    state.attempt,
                    state.attempt_base,
                    *_failures(state),
                    state.deadline_at,
                    owner,
                    state.fencing_token,
                    state.created_at,
                    state.updated_at,
                    self._lease,
                ),
            )
            if first_attempt is not None:
                _driver(connection).execute(_START, _start_params(first_attempt))

        # Rows are quick inserts; a function may take its time, so it never runs on the loop.
        await self._run(work, managed=application is not None, on_loop=not callable(alongside))

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool
    ) -> None:
        def work(connection: Connection) -> None:
            db = _driver(connection)
            _fenced(
                db,
                state,
                _FENCED_RENEWAL,
                (start.attempt, start.started_at, self._lease, state.id, state.fencing_token),
            )
            if close_interrupted:
                db.execute(_CLOSE_INTERRUPTED, (state.id,))
            db.execute(_START, _start_params(start))

        await self._run(work)

    async def finish_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        end: AttemptEnd,
        next_state: SagaState,
        *,
        next_start: AttemptStart | None,
        retry_seconds: float,
        release: bool,
    ) -> None:
        def work(connection: Connection) -> None:
            db = _driver(connection)
            _fenced(
                db,
                state,
                _FENCED_STATE,
                self._state_params(next_state, end.finished_at, retry_seconds, release),
            )
            db.execute(
                _FINISH,
                (
                    end.status.value,
                    end.finished_at,
                    _json(end.result),
                    end.error,
                    start.saga_id,
                    start.step,
                    start.direction.value,
                    start.attempt,
                ),
            )
            if next_start is not None:
                db.execute(_START, _start_params(next_start))

        await self._run(work)

    async def transition(
        self, state: SagaState, next_state: SagaState, event: SagaEvent | None
    ) -> None:
        def work(connection: Connection) -> None:
            db = _driver(connection)
            _fenced(
                db,
                state,
                _FENCED_STATE,
                self._state_params(next_state, next_state.updated_at, 0.0, False),
            )
            if event is not None:
                db.execute(_EVENT, (event.saga_id, event.kind, event.actor, event.detail, event.at))

        await self._run(work)

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

    def _state_params(
        self, state: SagaState, updated_at: float, retry_seconds: float, release: bool
    ) -> tuple[Any, ...]:
        let_go = release or state.status.is_terminal
        return (
            state.status.value,
            _json(state.results),
            state.cursor,
            state.attempt,
            state.attempt_base,
            *_failures(state),
            updated_at,
            retry_seconds,
            let_go,
            let_go,
            self._lease,
            state.id,
            state.fencing_token,
        )

    async def _run(
        self, work: Callable[[Connection], T], *, managed: bool = False, on_loop: bool = True
    ) -> T:
        """Run ``work`` in one write transaction: here, or on the writer thread when
        another connection holds the write lock (or writes already wait there).

        ``managed`` lets SQLAlchemy run the transaction, for application code that writes
        through the connection. The store's own writes skip that bookkeeping (about a
        quarter of a step's cost) and issue BEGIN and COMMIT on the driver themselves.
        """
        transaction = self._managed_transaction if managed else self._transaction
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

    def _on_thread(
        self,
        transaction: Callable[[Connection, Callable[[Connection], T]], T],
        work: Callable[[Connection], T],
    ) -> T:
        if self._waiting is None:
            self._waiting = self._waiting_engine.connect()
        return transaction(self._waiting, work)

    @staticmethod
    def _managed_transaction(connection: Connection, work: Callable[[Connection], T]) -> T:
        try:
            with connection.begin():  # BEGIN IMMEDIATE (sagakit.database)
                return work(connection)
        except sqlite3.IntegrityError as error:
            raise _integrity_error(error) from error

    @staticmethod
    def _transaction(connection: Connection, work: Callable[[Connection], T]) -> T:
        driver = _driver(connection)
        driver.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
        except sqlite3.IntegrityError as error:
            driver.execute("ROLLBACK")
            raise _integrity_error(error) from error
        except BaseException:
            driver.execute("ROLLBACK")
            raise
        driver.execute("COMMIT")
        return result

    def _count_statements(self, dbapi_connection: Any, _record: Any) -> None:
        def count(_statement: str) -> None:
            self.statements += 1

        dbapi_connection.set_trace_callback(count)


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


def _driver(connection: Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under SQLAlchemy's, inside the same transaction."""
    driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    return driver


def _fenced(db: sqlite3.Connection, state: SagaState, sql: str, params: tuple[Any, ...]) -> None:
    if db.execute(sql, params).rowcount != 1:
        raise LeaseLost(
            f"saga {state.id} was claimed by another process "
            f"(fencing token {state.fencing_token} is stale)"
        )


def _start_params(start: AttemptStart) -> tuple[Any, ...]:
    return (
        start.saga_id,
        start.step,
        start.direction.value,
        start.attempt,
        start.idempotency_key,
        start.started_at,
    )


def _failures(state: SagaState) -> tuple[str | None, str | None]:
    failure, stuck = state.failure, state.compensation_failure
    return _json(failure.to_json() if failure else None), _json(stuck.to_json() if stuck else None)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
