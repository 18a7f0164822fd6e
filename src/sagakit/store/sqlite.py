"""The saga store's writes on SQLite, each one transaction, run on the event loop.

Through SQLAlchemy's async SQLite driver every statement is several hops between the
event loop and the driver's thread, and a step's write (three statements, begin and
commit) cost milliseconds. Here a whole write transaction is one call on a blocking
connection, run where :class:`~sagakit.sqlite_transactions.SqliteTransactions` runs
it: on the event loop, or on the writer thread when another connection holds the lock.

SQLAlchemy owns the transaction when an application's ``alongside`` writes are in it
(an arbitrary function of a connection runs on the writer thread: it may take its
time); the hot statements go straight to the ``sqlite3`` connection underneath, as
prepared SQL that mirrors the statements in ``sql_store``. Reads and claims go through
SQLAlchemy's async engine.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlalchemy import Connection

from sagakit.alongside import Alongside, as_function
from sagakit.errors import LeaseLost
from sagakit.state import AttemptEnd, AttemptStart, SagaEvent, SagaState
from sagakit.store.sqlite_transactions import SqliteTransactions, driver

NOW = "((julianday('now') - 2440587.5) * 86400.0)"

_FENCED_STATE = (
    "UPDATE sagakit_sagas SET status = ?, results = ?, cursor = ?, attempt = ?, "
    "attempt_base = ?, failure = ?, compensation_failure = ?, updated_at = ?, "
    f"next_attempt_at = {NOW} + ?, "
    "owner = CASE WHEN ? THEN NULL ELSE owner END, "
    f"lease_expires_at = CASE WHEN ? THEN NULL ELSE {NOW} + ? END "
    "WHERE id = ? AND fencing_token = ?"
)
_FENCED_PROGRESS = (
    "UPDATE sagakit_sagas SET results = ?, cursor = ?, attempt = ?, attempt_base = ?, "
    f"failure = ?, compensation_failure = ?, updated_at = ?, lease_expires_at = {NOW} + ? "
    "WHERE id = ? AND fencing_token = ?"
)
"""An ordinary step: the same status, no retry, the lease kept. SQLite rewrites the
index entries of every column a statement sets, changed or not, so leaving out the
status and the due time spares two indexes: about half the pages each commit writes."""
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
        self._transactions = SqliteTransactions(path, thread_name="sagakit-sqlite")

    @property
    def statements(self) -> int:
        """Statements executed so far (what the benchmark reports per saga)."""
        return self._transactions.statements

    @property
    def lock_waits(self) -> int:
        """Commits (of one write, or of several sharing one) that found another
        connection writing and waited on the writer thread."""
        return self._transactions.lock_waits

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
            driver(connection).execute(
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
                driver(connection).execute(_START, _start_params(first_attempt))

        # Rows are quick inserts; a function may take its time, so it never runs on the loop.
        await self._transactions.run(
            work, managed=application is not None, on_loop=not callable(alongside)
        )

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool
    ) -> None:
        def work(connection: Connection) -> None:
            db = driver(connection)
            _fenced(
                db,
                state,
                _FENCED_RENEWAL,
                (start.attempt, start.started_at, self._lease, state.id, state.fencing_token),
            )
            if close_interrupted:
                db.execute(_CLOSE_INTERRUPTED, (state.id,))
            db.execute(_START, _start_params(start))

        await self._transactions.run(work, managed=False)

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
        # A step runs on an active saga, so the same status is never a terminal one.
        ordinary = next_state.status is state.status and retry_seconds == 0 and not release
        if ordinary:
            sql, params = _FENCED_PROGRESS, self._progress_params(next_state, end.finished_at)
        else:
            sql = _FENCED_STATE
            params = self._state_params(next_state, end.finished_at, retry_seconds, release)

        def work(connection: Connection) -> None:
            db = driver(connection)
            _fenced(db, state, sql, params)
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

        await self._transactions.run(work, managed=False)

    async def transition(
        self, state: SagaState, next_state: SagaState, event: SagaEvent | None
    ) -> None:
        def work(connection: Connection) -> None:
            db = driver(connection)
            _fenced(
                db,
                state,
                _FENCED_STATE,
                self._state_params(next_state, next_state.updated_at, 0.0, False),
            )
            if event is not None:
                db.execute(_EVENT, (event.saga_id, event.kind, event.actor, event.detail, event.at))

        await self._transactions.run(work, managed=False)

    def close(self) -> None:
        self._transactions.close()

    def _progress_params(self, state: SagaState, updated_at: float) -> tuple[Any, ...]:
        return (
            _json(state.results),
            state.cursor,
            state.attempt,
            state.attempt_base,
            *_failures(state),
            updated_at,
            self._lease,
            state.id,
            state.fencing_token,
        )

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
