"""The saga store on SQLAlchemy: SQLite for one process, PostgreSQL for many.

Each method is one short transaction, made of the statements in ``statements``. How a
transaction reaches the database is the transport's business: a SQLite file's commits
many sagas' writes together on the event loop (``sqlite``), PostgreSQL sends each hot
write as one statement and batches concurrent finishes (``postgres``), and anything
else goes through SQLAlchemy's engine (``portable``).

A claim is a single ``UPDATE … RETURNING`` that bumps the fencing token; on PostgreSQL
its candidate rows are chosen with ``FOR UPDATE SKIP LOCKED`` so competing workers
never wait for, or take, the same saga.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sagakit.database import reading
from sagakit.errors import SagaNotFound
from sagakit.retention import OnPrune, Pruned, Retention
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    Delivery,
    SagaEvent,
    SagaState,
    Signal,
)
from sagakit.store.alongside import Alongside
from sagakit.store.compiled import Write
from sagakit.store.instrumentation import StoreInstrumentation
from sagakit.store.parameters import (
    event_params,
    fencing_params,
    finished_params,
    progress_params,
    saga_params,
    signal_params,
    started_params,
    state_params,
)
from sagakit.store.portable import EngineTransport
from sagakit.store.pruning import count_prunable, oldest_finished, prune_batch
from sagakit.store.rows import to_attempt, to_signal, to_state
from sagakit.store.statements import (
    CLAIM,
    CLAIM_ANYWAY,
    CLAIM_DUE,
    CLOSE_INTERRUPTED,
    COUNT_BY_STATUS,
    COUNT_WAITING,
    FINISH_ATTEMPT,
    INSERT_EVENT,
    INSERT_SAGA,
    INSERT_SIGNAL,
    LOAD_ATTEMPTS,
    LOAD_EVENTS,
    LOAD_SAGA,
    LOAD_SIGNAL,
    RENEW_LEASE,
    SAVE_PROGRESS,
    SAVE_STATE,
    START_ATTEMPT,
    WAITING,
    WAKE,
    database_now,
)
from sagakit.store.tables import ACTIVE_STATUSES, sagas

if TYPE_CHECKING:
    from sagakit.store.postgres import PostgresWriter
    from sagakit.store.sqlite import SqliteTransport


class Transport(Protocol):
    async def write(
        self, writes: Sequence[Write], *, alongside: Alongside | None = None
    ) -> None: ...


class SqlSagaStore:
    """A ``SagaStore[Alongside]``: sagas on SQLite or PostgreSQL, with the application's
    ``Rows`` (or a function of a blocking connection) written in a saga's creating
    transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        lease_duration: timedelta = timedelta(seconds=30),
        instrumentation: StoreInstrumentation | None = None,
    ):
        """``instrumentation`` hears of every statement sent (whatever else runs on
        ``engine`` included), every commit and every wait for SQLite's write lock."""
        if lease_duration <= timedelta(0):
            raise ValueError("lease_duration must be positive")
        self._engine = engine
        self._instrumentation = instrumentation
        if instrumentation is not None:
            event.listen(engine.sync_engine, "before_cursor_execute", self._statement_sent)
        self._lease = lease_duration.total_seconds()
        database = engine.url.database
        self._sqlite: SqliteTransport | None = None
        self._postgres: PostgresWriter | None = None
        self._portable = EngineTransport(engine)
        # The drivers' modules are imported only for a store on their database.
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            from sagakit.store.sqlite import SqliteTransport

            self._sqlite = SqliteTransport(database, engine.dialect, instrumentation)
        elif engine.dialect.name == "postgresql":
            from sagakit.store.postgres import PostgresWriter

            self._postgres = PostgresWriter(
                engine, lease_seconds=self._lease, instrumentation=instrumentation
            )

    def close(self) -> None:
        """Stop the transport's threads (the engine is the caller's to dispose)."""
        if self._instrumentation is not None:
            event.remove(self._engine.sync_engine, "before_cursor_execute", self._statement_sent)
            self._instrumentation = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._postgres is not None:
            self._postgres.close()
            self._postgres = None

    @property
    def lease_duration(self) -> timedelta:
        return timedelta(seconds=self._lease)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def _transport(self) -> Transport:
        return self._sqlite or self._portable

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: Alongside | None = None,
        first_attempt: AttemptStart | None = None,
    ) -> SagaState:
        """Insert a new saga leased to ``owner`` (and its ``first_attempt``, begun).

        ``alongside`` (rows, or a function of a blocking SQLAlchemy connection) is written
        in the same transaction, so an application can store its own record and the saga
        atomically: both or neither.
        """
        created = state.evolve(fencing_token=1)
        if self._postgres is not None:
            await self._postgres.create(
                created, owner=owner, alongside=alongside, first_attempt=first_attempt
            )
            return created
        writes = [Write(INSERT_SAGA, saga_params(created, owner=owner, lease=self._lease))]
        if first_attempt is not None:
            writes.append(Write(START_ATTEMPT, started_params(first_attempt)))
        await self._transport.write(writes, alongside=alongside)
        return created

    async def begin_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None = None,
        close_interrupted: bool = False,
    ) -> None:
        if self._postgres is not None:
            await self._postgres.begin_attempt(
                state, start, next_state=next_state, close_interrupted=close_interrupted
            )
            return
        started = started_params(start)
        renewal = {**fencing_params(state), **started, "lease": self._lease}
        if next_state is None:
            writes = [Write(RENEW_LEASE, renewal, fenced=state)]
        else:
            saved = {**progress_params(next_state), **renewal, "updated_at": start.started_at}
            writes = [Write(SAVE_PROGRESS, saved, fenced=state)]
        if close_interrupted:
            writes.append(Write(CLOSE_INTERRUPTED, {"saga": state.id}))
        writes.append(Write(START_ATTEMPT, started))
        await self._transport.write(writes)

    async def finish_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        end: AttemptEnd,
        next_state: SagaState,
        *,
        next_start: AttemptStart | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        retry_seconds = retry_after.total_seconds() if retry_after else 0.0
        if self._postgres is not None:
            await self._postgres.finish_attempt(
                state,
                start,
                end,
                next_state,
                next_start=next_start,
                retry_seconds=retry_seconds,
                release=release,
            )
            return
        # A step runs on an active saga, so the same status is never a terminal one.
        if next_state.status is state.status and retry_seconds == 0 and not release:
            saved, statement = progress_params(next_state), SAVE_PROGRESS
            saved["lease"] = self._lease
        else:
            saved = state_params(
                next_state, retry_seconds=retry_seconds, release=release, lease=self._lease
            )
            statement = SAVE_STATE
        saved["saga"], saved["token"] = state.id, state.fencing_token
        saved["updated_at"] = end.finished_at
        writes = [
            Write(statement, saved, state),
            Write(FINISH_ATTEMPT, finished_params(start, end)),
        ]
        if next_start is not None:
            saved["attempt"] = next_start.attempt
            writes.append(Write(START_ATTEMPT, started_params(next_start)))
        await self._transport.write(writes)

    async def transition(
        self,
        state: SagaState,
        next_state: SagaState,
        *,
        event: SagaEvent | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        # Operators' writes and the ends of waits are rare: PostgreSQL sends them
        # through the engine.
        retry_seconds = retry_after.total_seconds() if retry_after else 0.0
        saved = state_params(
            next_state, retry_seconds=retry_seconds, release=release, lease=self._lease
        )
        writes = [Write(SAVE_STATE, {**saved, **fencing_params(state)}, fenced=state)]
        if event is not None:
            writes.append(Write(INSERT_EVENT, event_params(event)))
        await self._transport.write(writes)

    async def deliver(self, signal: Signal) -> Delivery:
        try:
            # The signal's primary key (saga, name) decides between concurrent
            # deliveries, and between an event and the engine's timeout: the first
            # insert wins, the others fail and read what won.
            await self._transport.write(
                [
                    Write(INSERT_SIGNAL, signal_params(signal)),
                    Write(WAKE, {"saga": signal.saga_id}),
                ]
            )
        except IntegrityError:
            held = await self.signal(signal.saga_id, signal.name)
            if held is None:  # the foreign key failed: no such saga
                raise SagaNotFound(f"no saga has id {signal.saga_id}") from None
            return Delivery(held, recorded=False)
        return Delivery(signal, recorded=True)

    async def clock_offset(self) -> float:
        async with reading(self._engine) as conn:
            before = time.time()
            now = (await conn.execute(select(database_now()))).scalar_one()
            after = time.time()
        # The database read its clock somewhere in the round trip: its middle, within
        # half the round trip's length.
        return float(now) - (before + after) / 2

    async def signal(self, saga_id: str, name: str) -> Signal | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(LOAD_SIGNAL, {"saga": saga_id, "signal_name": name})).first()
        return to_signal(row) if row else None

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(LOAD_EVENTS, {"saga": saga_id})).all()
        return [
            SagaEvent(saga_id=r.saga_id, kind=r.kind, actor=r.actor, at=r.at, detail=r.detail)
            for r in rows
        ]

    async def list_sagas(
        self,
        *,
        statuses: Sequence[str] = (),
        name: str | None = None,
        created_before: float | None = None,
        ids: Select[tuple[str]] | None = None,
        waiting: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[SagaState], int]:
        """A page of sagas, newest first, and how many match in all.

        ``ids`` narrows the list to the ids an application's own query selects (the
        orders of one customer, say); ``waiting`` to the active sagas backing off before
        their next attempt.
        """
        conditions: list[ColumnElement[bool]] = []
        if statuses:
            conditions.append(sagas.c.status.in_(statuses))
        if name is not None:
            conditions.append(sagas.c.name == name)
        if created_before is not None:
            conditions.append(sagas.c.created_at < created_before)
        if ids is not None:
            conditions.append(sagas.c.id.in_(ids.scalar_subquery()))
        if waiting:
            conditions += [sagas.c.status.in_(ACTIVE_STATUSES), WAITING]
        page = (
            select(sagas, WAITING)
            .where(*conditions)
            .order_by(sagas.c.created_at.desc(), sagas.c.id)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(sagas).where(*conditions)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(page)).all()
            total = (await conn.execute(count)).scalar_one()
        return [to_state(row) for row in rows], int(total)

    async def prune(self, retention: Retention, *, on_prune: OnPrune | None = None) -> Pruned:
        """Delete one batch of finished sagas' history (see :mod:`sagakit.retention`);
        ``on_prune`` gets the ``AsyncConnection`` of the deleting transaction."""
        async with self._engine.begin() as conn:
            return await prune_batch(conn, retention, on_prune)

    async def count_prunable(self, retention: Retention) -> int:
        async with reading(self._engine) as conn:
            return await count_prunable(conn, retention)

    async def oldest_finished(self) -> float | None:
        async with reading(self._engine) as conn:
            return await oldest_finished(conn)

    async def count_by_status(self) -> dict[str, int]:
        async with reading(self._engine) as conn:
            return {status: int(n) for status, n in (await conn.execute(COUNT_BY_STATUS)).all()}

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        if limit < 1:
            return []
        return await self._claim(CLAIM_DUE, {"owner": owner, "limit": limit})

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        claimed = await self._claim(
            CLAIM_ANYWAY if force else CLAIM, {"owner": owner, "saga": saga_id}
        )
        return claimed[0] if claimed else None

    async def load(self, saga_id: str) -> SagaState | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(LOAD_SAGA, {"saga": saga_id})).first()
        return to_state(row) if row else None

    async def count_waiting(self) -> list[tuple[str, int, str, int, int]]:
        """Active sagas waiting for a retry: (name, version, status, cursor, how many)."""
        async with reading(self._engine) as conn:
            rows = (await conn.execute(COUNT_WAITING)).all()
        return [(row[0], row[1], row[2], row[3], int(row[4])) for row in rows]

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(LOAD_ATTEMPTS, {"saga": saga_id})).all()
        return [to_attempt(row) for row in rows]

    def _statement_sent(self, *_event: Any) -> None:
        if self._instrumentation is not None:
            self._instrumentation.statement_sent()

    async def _claim(self, statement: Executable, params: dict[str, Any]) -> list[SagaState]:
        async with self._engine.begin() as conn:
            rows = (await conn.execute(statement, {**params, "lease": self._lease})).all()
        return [to_state(row) for row in rows]
