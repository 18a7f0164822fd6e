"""The saga store's writes through SQLAlchemy Core, on any database it speaks.

A SQLite file and PostgreSQL have faster writers of the same statements
(``sqlite_writes``, ``postgres_writes``). These serve the rest: an in-memory SQLite
database, and on PostgreSQL the rare writes it has no fast form of (an operator's
retry or abort). Each write is one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Double, cast, func, insert, literal
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sagakit.alongside import Alongside, as_function
from sagakit.errors import LeaseLost
from sagakit.state import AttemptEnd, AttemptStart, AttemptStatus, SagaEvent, SagaState
from sagakit.store.tables import attempts, events, sagas


def database_now(engine: AsyncEngine) -> ColumnElement[float]:
    """The database's clock, in seconds since the epoch."""
    if engine.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Double)
    return (func.julianday("now") - 2440587.5) * 86400.0


class PortableWriter:
    def __init__(self, engine: AsyncEngine, *, lease_seconds: float) -> None:
        self._engine = engine
        self._lease = lease_seconds

    def renewed_lease(self) -> ColumnElement[float]:
        """When a lease taken or renewed now expires, by the database's clock."""
        return database_now(self._engine) + literal(self._lease, Double)

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: Alongside | None,
        first_attempt: AttemptStart | None,
    ) -> None:
        values = {
            **_state_values(state),
            "id": state.id,
            "name": state.name,
            "version": state.version,
            "input": state.input,
            "created_at": state.created_at,
            "deadline_at": state.deadline_at,
            "owner": owner,
            "fencing_token": state.fencing_token,
            "lease_expires_at": self.renewed_lease(),
            "next_attempt_at": database_now(self._engine),
        }
        async with self._engine.begin() as conn:
            if alongside is not None:
                await conn.run_sync(as_function(alongside))
            await conn.execute(insert(sagas).values(values))
            if first_attempt is not None:
                await conn.execute(insert(attempts).values(_start_values(first_attempt)))

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool
    ) -> None:
        async with self._engine.begin() as conn:
            await _fenced_update(
                conn,
                state,
                {
                    "attempt": start.attempt,
                    "updated_at": start.started_at,
                    "lease_expires_at": self.renewed_lease(),
                },
            )
            if close_interrupted:
                await conn.execute(
                    sql_update(attempts)
                    .where(
                        attempts.c.saga_id == state.id,
                        attempts.c.status == AttemptStatus.STARTED.value,
                    )
                    .values(status=AttemptStatus.INTERRUPTED.value)
                )
            await conn.execute(insert(attempts).values(_start_values(start)))

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
        values = {
            **_state_values(next_state),
            "updated_at": end.finished_at,
            **self._lease_values(next_state, release=release),
        }
        if retry_seconds > 0:
            values["next_attempt_at"] = database_now(self._engine) + retry_seconds
        async with self._engine.begin() as conn:
            await _fenced_update(conn, state, values)
            await conn.execute(
                sql_update(attempts)
                .where(
                    attempts.c.saga_id == start.saga_id,
                    attempts.c.step == start.step,
                    attempts.c.direction == start.direction.value,
                    attempts.c.attempt == start.attempt,
                )
                .values(
                    status=end.status.value,
                    finished_at=end.finished_at,
                    result=end.result,
                    error=end.error,
                )
            )
            if next_start is not None:
                await conn.execute(insert(attempts).values(_start_values(next_start)))

    async def transition(
        self, state: SagaState, next_state: SagaState, event: SagaEvent | None
    ) -> None:
        values = {
            **_state_values(next_state),
            "updated_at": next_state.updated_at,
            **self._lease_values(next_state, release=False),
        }
        async with self._engine.begin() as conn:
            await _fenced_update(conn, state, values)
            if event is not None:
                await conn.execute(
                    insert(events).values(
                        saga_id=event.saga_id,
                        kind=event.kind,
                        actor=event.actor,
                        detail=event.detail,
                        at=event.at,
                    )
                )

    def _lease_values(self, state: SagaState, *, release: bool) -> dict[str, Any]:
        if release or state.status.is_terminal:
            return {"owner": None, "lease_expires_at": None}
        return {"lease_expires_at": self.renewed_lease()}


async def _fenced_update(conn: AsyncConnection, state: SagaState, values: dict[str, Any]) -> None:
    result = await conn.execute(
        sql_update(sagas)
        .where(sagas.c.id == state.id, sagas.c.fencing_token == state.fencing_token)
        .values(values)
    )
    if result.rowcount != 1:
        raise LeaseLost(
            f"saga {state.id} was claimed by another process "
            f"(fencing token {state.fencing_token} is stale)"
        )


def _state_values(state: SagaState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "results": state.results,
        "cursor": state.cursor,
        "attempt": state.attempt,
        "attempt_base": state.attempt_base,
        "failure": state.failure.to_json() if state.failure else None,
        "compensation_failure": (
            state.compensation_failure.to_json() if state.compensation_failure else None
        ),
        "updated_at": state.updated_at,
    }


def _start_values(start: AttemptStart) -> dict[str, Any]:
    return {
        "saga_id": start.saga_id,
        "step": start.step,
        "direction": start.direction.value,
        "attempt": start.attempt,
        "idempotency_key": start.idempotency_key,
        "status": AttemptStatus.STARTED.value,
        "started_at": start.started_at,
    }
