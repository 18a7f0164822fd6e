"""The saga store's writes on SQLite, each one transaction in one hop to one thread.

Through SQLAlchemy's async SQLite driver every statement is several hops between the
event loop and the driver's thread, and a step's write (three statements, begin and
commit) cost milliseconds. Here a single thread owns one blocking connection and runs
a whole write transaction per call: the event loop waits once, for the commit. SQLite
takes one writer at a time anyway, so one writing thread loses nothing. SQLAlchemy owns
the transaction (and runs an application's ``alongside`` writes); the hot statements go
straight to the ``sqlite3`` connection underneath, as prepared SQL that mirrors the
statements in ``sql_store``. Reads and claims still go through SQLAlchemy's async engine.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

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
    """One thread, one connection, one transaction per call."""

    def __init__(self, path: str, *, lease_seconds: float) -> None:
        self._lease = lease_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sagakit-sqlite")
        self._engine = create_sync_engine(f"sqlite:///{path}", poolclass=StaticPool)
        event.listen(self._engine, "connect", self._count_statements)
        self._connection: Connection | None = None
        self.statements = 0
        """Statements executed so far (what the benchmark reports per saga)."""

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: Callable[[Connection], None] | None,
        first_attempt: AttemptStart | None,
    ) -> None:
        def work(connection: Connection) -> None:
            if alongside is not None:
                alongside(connection)
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

        await self._run(work, managed=alongside is not None)

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
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            self._engine.dispose()

        self._thread.submit(shut).result()
        self._thread.shutdown(wait=True)

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

    async def _run(self, work: Callable[[Connection], T], *, managed: bool = False) -> T:
        """Run ``work`` in one write transaction on the writer thread.

        ``managed`` lets SQLAlchemy run the transaction, for application code that writes
        through the connection. The store's own writes skip that bookkeeping (about a
        quarter of a step's cost) and issue BEGIN and COMMIT on the driver themselves.
        """
        transaction = self._managed_transaction if managed else self._transaction
        return await asyncio.get_running_loop().run_in_executor(self._thread, transaction, work)

    def _managed_transaction(self, work: Callable[[Connection], T]) -> T:
        connection = self._connect()
        try:
            with connection.begin():  # BEGIN IMMEDIATE (sagakit.database)
                return work(connection)
        except sqlite3.IntegrityError as error:
            raise _integrity_error(error) from error

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        connection = self._connect()
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

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _count_statements(self, dbapi_connection: Any, _record: Any) -> None:
        def count(_statement: str) -> None:
            self.statements += 1

        dbapi_connection.set_trace_callback(count)


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
