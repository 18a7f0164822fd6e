"""The saga store's hot writes on PostgreSQL, each one statement: one round trip.

The statements (in ``postgres_statements``) run on the asyncpg connection under
SQLAlchemy's pooled one: SQLAlchemy's adaptation of each statement cost more CPU than
the statement itself. Finishing an attempt, the write every step makes, goes through
``WriteBatches``: under load, the finishes of many sagas share one statement and commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from sagakit.alongside import Alongside
from sagakit.database import create_sync_engine
from sagakit.errors import LeaseLost
from sagakit.state import AttemptEnd, AttemptStart, SagaState
from sagakit.store.postgres_statements import (
    BEGIN,
    CREATE,
    FINISH,
    FINISH_COLUMNS,
    FINISH_MANY,
    Positional,
    create_with_rows,
    shape_of,
)
from sagakit.store.write_batches import WriteBatches

BLOCKING_THREADS = 8


class PostgresWriter:
    def __init__(self, engine: AsyncEngine, *, lease_seconds: float) -> None:
        if engine.dialect.driver != "asyncpg":
            raise ValueError(
                f"the saga store on PostgreSQL runs on asyncpg, not {engine.dialect.driver}: "
                "use a postgresql+asyncpg:// URL"
            )
        self._engine = engine
        self._create, self._begin, self._finish, self._finish_many = (
            Positional.of(statement, engine.dialect)
            for statement in (CREATE, BEGIN, FINISH, FINISH_MANY)
        )
        self._finishes = WriteBatches(self._finish_one, self._finish_together)
        self._create_in_transaction = text(CREATE)  # parsed once, not per saga
        self._url = engine.url.render_as_string(hide_password=False)
        self._lease = lease_seconds
        self.statements = 0
        self._kept: PoolProxiedConnection | None = None
        """One pooled connection kept from a write to the next: taking it from SQLAlchemy's
        pool and giving it back costs greenlet hops and a reset on every statement."""
        self._blocking: Engine | None = None
        self._threads = ThreadPoolExecutor(BLOCKING_THREADS, thread_name_prefix="sagakit-pg")

    def close(self) -> None:
        if self._kept is not None:
            # Outside a greenlet SQLAlchemy ends an asyncpg connection without awaiting.
            self._kept.invalidate()
            self._kept.close()
            self._kept = None
        self._threads.shutdown(wait=True)
        if self._blocking is not None:
            self._blocking.dispose()

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        first_attempt: AttemptStart | None,
        alongside: Alongside | None,
    ) -> None:
        """One statement, with the application's ``Rows`` in it; an ``alongside``
        function runs with the saga's insert in one transaction on a blocking connection
        in a thread (one hop from the event loop, instead of one per statement)."""
        params = {
            "id": state.id,
            "name": state.name,
            "version": state.version,
            "status": state.status.value,
            "input": json.dumps(state.input),
            **_progress(state),
            "deadline_at": state.deadline_at,
            "owner": owner,
            "token": state.fencing_token,
            "created_at": state.created_at,
            "updated_at": state.updated_at,
            "lease": self._lease,
            "has_next": first_attempt is not None,
            **_next(first_attempt),
        }
        if callable(alongside):
            await self._create_beside(alongside, params)
            return
        statement = self._create
        if alongside:
            with_rows = create_with_rows(shape_of(alongside), self._engine.dialect)
            statement = with_rows.positional
            params.update(with_rows.parameters(alongside))
        await self._fetch(statement, params)

    async def _create_beside(
        self, write: Callable[[Connection], None], params: dict[str, Any]
    ) -> None:
        """The application's function, then the saga's insert, in one transaction."""
        # Created here, on the event loop: created lazily on the worker threads, a burst of
        # first sagas made an engine (and a pool) per thread, and leaked all but one.
        if self._blocking is None:
            self._blocking = create_sync_engine(self._url, pool_size=BLOCKING_THREADS)
            event.listen(self._blocking, "before_cursor_execute", self._count_statement)
        blocking, statement = self._blocking, self._create_in_transaction

        def transaction() -> None:
            with blocking.begin() as connection:
                write(connection)
                connection.execute(statement, params)

        await asyncio.get_running_loop().run_in_executor(self._threads, transaction)

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool
    ) -> None:
        matched = await self._fetch(
            self._begin,
            {
                "saga_id": state.id,
                "token": state.fencing_token,
                "lease": self._lease,
                "close_interrupted": close_interrupted,
                "step": start.step,
                "direction": start.direction.value,
                "attempt": start.attempt,
                "key": start.idempotency_key,
                "started_at": start.started_at,
            },
        )
        if matched != 1:
            raise _lease_lost(state)

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
        matched = await self._finishes.write(
            {
                "saga_id": state.id,
                "token": state.fencing_token,
                "status": next_state.status.value,
                **_progress(next_state),
                "finished_at": end.finished_at,
                "retry_seconds": retry_seconds,
                "let_go": release or next_state.status.is_terminal,
                "outcome": end.status.value,
                "result": _json(end.result),
                "error": end.error,
                "step": start.step,
                "direction": start.direction.value,
                "finished_attempt": start.attempt,
                "has_next": next_start is not None,
                **_next(next_start),
            }
        )
        if not matched:
            raise _lease_lost(state)

    async def _finish_one(self, finish: dict[str, Any]) -> bool:
        matched: int = await self._fetch(self._finish, {**finish, "lease": self._lease})
        return matched == 1

    async def _finish_together(self, finishes: Sequence[dict[str, Any]]) -> list[bool]:
        """Which of the finishes matched their saga's fencing token, in one statement."""
        ids = [finish["saga_id"] for finish in finishes]
        if len(set(ids)) < len(ids):
            raise ValueError("one saga twice in a batch: each goes alone")
        arrays = {name: [finish[name] for finish in finishes] for name, _ in FINISH_COLUMNS}
        params = {**arrays, "lease": self._lease}
        rows = await self._fetch(self._finish_many, params, every_row=True)
        matched = {row[0] for row in rows}
        return [saga_id in matched for saga_id in ids]

    def _count_statement(self, *_event: Any) -> None:
        self.statements += 1

    async def _fetch(
        self, statement: Positional, params: dict[str, Any], *, every_row: bool = False
    ) -> Any:
        """The statement's one value (or ``every_row``), run on a pooled connection's
        asyncpg driver."""
        self.statements += 1
        pooled, self._kept = self._kept, None
        if pooled is None:
            pooled = await self._engine.raw_connection()
        healthy = True
        try:
            driver: asyncpg.Connection = pooled.driver_connection
            fetch = driver.fetch if every_row else driver.fetchval
            return await fetch(statement.sql, *statement.arguments(params))
        except asyncpg.IntegrityConstraintViolationError as error:
            # The server refused a row; the connection is fine. Callers catch
            # SQLAlchemy's error, whichever driver sent the statement.
            raise IntegrityError(None, None, error) from error
        except BaseException:
            # Dropped, cancelled mid-statement, or confused: nobody may use it again.
            healthy = False
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            if healthy and self._kept is None:
                self._kept = pooled
            else:
                await greenlet_spawn(pooled.close)  # closing an overflow connection awaits


def _lease_lost(state: SagaState) -> LeaseLost:
    return LeaseLost(
        f"saga {state.id} was claimed by another process "
        f"(fencing token {state.fencing_token} is stale)"
    )


def _progress(state: SagaState) -> dict[str, Any]:
    """The columns that record how far a saga has got."""
    failure, stuck = state.failure, state.compensation_failure
    return {
        "results": json.dumps(state.results),
        "cursor": state.cursor,
        "attempt": state.attempt,
        "attempt_base": state.attempt_base,
        "failure": json.dumps(failure.to_json()) if failure else None,
        "compensation_failure": json.dumps(stuck.to_json()) if stuck else None,
    }


def _next(start: AttemptStart | None) -> dict[str, Any]:
    if start is None:
        return {
            "next_step": None,
            "next_direction": None,
            "next_attempt": None,
            "next_key": None,
            "next_started_at": None,
        }
    return {
        "next_step": start.step,
        "next_direction": start.direction.value,
        "next_attempt": start.attempt,
        "next_key": start.idempotency_key,
        "next_started_at": start.started_at,
    }


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
