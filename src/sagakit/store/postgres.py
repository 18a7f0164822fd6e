"""How the store's hot writes reach PostgreSQL: each one statement, one round trip.

The statements (``postgres_statements``, compiled once) run on the asyncpg connection
under SQLAlchemy's pooled one: SQLAlchemy's execution of each statement cost more CPU
than the statement itself. Finishing an attempt, the write every step makes, goes
through ``WriteBatches``: under load, the finishes of many sagas share one statement
and commit.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from sagakit.database import create_sync_engine
from sagakit.definition import Direction
from sagakit.state import AttemptEnd, AttemptStart, SagaState
from sagakit.store.alongside import Alongside
from sagakit.store.compiled import Compiled, compiled, json_text, lease_lost
from sagakit.store.instrumentation import NOT_INSTRUMENTED, StoreInstrumentation
from sagakit.store.parameters import (
    fencing_params,
    finished_params,
    progress_params,
    saga_params,
    started_params,
    state_params,
)
from sagakit.store.postgres_statements import (
    BEGIN,
    BEGIN_SAVING,
    CREATE,
    FINISH,
    FINISH_BATCH_COLUMNS,
    FINISH_MANY,
    JSON_COLUMNS,
    create_with_rows,
    rows_params,
    shape_of,
)
from sagakit.store.statements import INSERT_SAGA, START_ATTEMPT
from sagakit.store.write_batches import WriteBatches

BLOCKING_THREADS = 8


class PostgresWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        lease_seconds: float,
        instrumentation: StoreInstrumentation | None = None,
    ) -> None:
        if engine.dialect.driver != "asyncpg":
            raise ValueError(
                f"the saga store on PostgreSQL runs on asyncpg, not {engine.dialect.driver}: "
                "use a postgresql+asyncpg:// URL"
            )
        self._engine = engine
        self._dialect = engine.dialect
        self._create, self._begin, self._begin_saving, self._finish, self._finish_many = (
            compiled(statement, engine.dialect)
            for statement in (CREATE, BEGIN, BEGIN_SAVING, FINISH, FINISH_MANY)
        )
        self._instrumentation = instrumentation or NOT_INSTRUMENTED
        self._finishes = WriteBatches(
            self._finish_one,
            self._finish_together,
            on_batch=self._instrumentation.writes_batched,
        )
        self._url = engine.url.render_as_string(hide_password=False)
        self._lease = lease_seconds
        self._kept = _Kept()
        """One pooled connection kept from a write to the next: taking it from SQLAlchemy's
        pool and giving it back costs greenlet hops and a reset on every statement."""
        # A store dropped without close() lets go of it too, rather than leave it to the
        # garbage collector's warning about a connection never checked in.
        self._release_kept = weakref.finalize(self, self._kept.release)
        self._blocking: Engine | None = None
        self._threads = ThreadPoolExecutor(BLOCKING_THREADS, thread_name_prefix="sagakit-pg")

    def close(self) -> None:
        self._release_kept()
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
            **saga_params(state, owner=owner, lease=self._lease),
            "has_start": first_attempt is not None,
            **_started(first_attempt, state.id),
        }
        if callable(alongside):
            await self._create_beside(alongside, params, first_attempt)
            return
        statement = self._create
        if alongside:
            statement = create_with_rows(shape_of(alongside), self._dialect)
            params.update(rows_params(alongside))
        await self._fetch(statement, params)

    async def _create_beside(
        self,
        write: Callable[[Connection], None],
        params: dict[str, Any],
        first_attempt: AttemptStart | None,
    ) -> None:
        """The application's function, then the saga's insert, in one transaction."""
        # Created here, on the event loop: created lazily on the worker threads, a burst of
        # first sagas made an engine (and a pool) per thread, and leaked all but one.
        if self._blocking is None:
            self._blocking = create_sync_engine(self._url, pool_size=BLOCKING_THREADS)
            if self._instrumentation is not NOT_INSTRUMENTED:
                sent = self._instrumentation.statement_sent
                event.listen(self._blocking, "before_cursor_execute", lambda *_: sent())
        blocking = self._blocking

        def transaction() -> None:
            with blocking.begin() as connection:
                write(connection)
                connection.execute(INSERT_SAGA, params)
                if first_attempt is not None:
                    connection.execute(START_ATTEMPT, params)

        await asyncio.get_running_loop().run_in_executor(self._threads, transaction)

    async def begin_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None,
        close_interrupted: bool,
    ) -> None:
        params = {
            **fencing_params(state),
            **started_params(start),
            "lease": self._lease,
            "close_interrupted": close_interrupted,
        }
        statement = self._begin
        if next_state is not None:
            params.update(progress_params(next_state), updated_at=start.started_at)
            statement = self._begin_saving
        if await self._fetch(statement, params) != 1:
            raise lease_lost(state)

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
        saved = state_params(
            next_state, retry_seconds=retry_seconds, release=release, lease=self._lease
        )
        if next_start is not None:
            saved["attempt"] = next_start.attempt
        matched = await self._finishes.write(
            {
                **saved,
                "updated_at": end.finished_at,
                **fencing_params(state),
                **finished_params(start, end),
                "has_next": next_start is not None,
                **_started(next_start, state.id),
            }
        )
        if not matched:
            raise lease_lost(state)

    async def _finish_one(self, finish: dict[str, Any]) -> bool:
        matched: int = await self._fetch(self._finish, finish)
        return matched == 1

    async def _finish_together(self, finishes: Sequence[dict[str, Any]]) -> list[bool]:
        """Which of the finishes matched their saga's fencing token, in one statement."""
        ids = [finish["saga"] for finish in finishes]
        if len(set(ids)) < len(ids):
            raise ValueError("one saga twice in a batch: each goes alone")
        arrays = {
            name: [
                json_text(finish[name]) if name in JSON_COLUMNS else finish[name]
                for finish in finishes
            ]
            for name, _ in FINISH_BATCH_COLUMNS
        }
        rows = await self._fetch(self._finish_many, arrays, every_row=True)
        matched = {row[0] for row in rows}
        return [saga_id in matched for saga_id in ids]

    async def _fetch(
        self, statement: Compiled, params: dict[str, Any], *, every_row: bool = False
    ) -> Any:
        """The statement's one value (or ``every_row``), run on a pooled connection's
        asyncpg driver."""
        self._instrumentation.statement_sent()
        pooled, self._kept.connection = self._kept.connection, None
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
            if healthy and self._kept.connection is None:
                self._kept.connection = pooled
            else:
                await greenlet_spawn(pooled.close)  # closing an overflow connection awaits


class _Kept:
    connection: PoolProxiedConnection | None = None

    def release(self) -> None:
        if self.connection is not None:
            # Outside a greenlet SQLAlchemy ends an asyncpg connection without awaiting.
            self.connection.invalidate()
            self.connection.close()
            self.connection = None


def _started(start: AttemptStart | None, saga_id: str) -> dict[str, Any]:
    """The next attempt's values, or none (``has_next``/``has_start`` false)."""
    if start is not None:
        return started_params(start)
    return {**_NOTHING_STARTED, "saga": saga_id}


_NOTHING_STARTED = dict.fromkeys(
    started_params(
        AttemptStart(
            saga_id="",
            step="",
            direction=Direction.FORWARD,
            attempt=0,
            idempotency_key="",
            started_at=0,
        )
    )
)
