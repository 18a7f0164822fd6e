"""The saga store on SQLAlchemy: SQLite for one process, PostgreSQL for many.

Each method is one short transaction. A claim is a single ``UPDATE … RETURNING`` that
bumps the fencing token; on PostgreSQL its candidate rows are chosen with
``FOR UPDATE SKIP LOCKED`` so competing workers never wait for, or take, the same
saga. SQLite has one writer at a time, so the same statement is already exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Label,
    Row,
    Select,
    and_,
    event,
    func,
    or_,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncEngine

from sagakit.alongside import Alongside
from sagakit.database import reading
from sagakit.definition import Direction
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    AttemptStatus,
    Failure,
    SagaEvent,
    SagaState,
    SagaStatus,
)
from sagakit.store.portable import PortableWriter, database_now
from sagakit.store.postgres import PostgresWriter
from sagakit.store.sqlite import SqliteWriter
from sagakit.store.tables import ACTIVE_STATUSES, attempts, events, sagas


class SqlSagaStore:
    def __init__(self, engine: AsyncEngine, *, lease_duration: timedelta = timedelta(seconds=30)):
        if lease_duration <= timedelta(0):
            raise ValueError("lease_duration must be positive")
        self._engine = engine
        self._lease = lease_duration.total_seconds()
        self._is_postgres = engine.dialect.name == "postgresql"
        database = engine.url.database
        self._sqlite: SqliteWriter | None = None
        self._postgres: PostgresWriter | None = None
        self._portable = PortableWriter(engine, lease_seconds=self._lease)
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            self._sqlite = SqliteWriter(database, lease_seconds=self._lease)
        elif self._is_postgres:
            self._postgres = PostgresWriter(engine, lease_seconds=self._lease)
        self._statements = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count_statement)

    @property
    def statements(self) -> int:
        """SQL statements sent so far: the writes, and whatever else runs on ``engine``
        (an application's own reads on the same engine included).

        The SQLite writer counts what its driver runs, ``BEGIN`` and ``COMMIT`` too; on
        PostgreSQL a transaction's ``BEGIN`` and ``COMMIT`` are the driver's, not counted.
        """
        writer = self._sqlite or self._postgres
        return self._statements + (writer.statements if writer is not None else 0)

    def close(self) -> None:
        """Stop the writer's threads (the engine is the caller's to dispose)."""
        self._statements = self.statements
        event.remove(self._engine.sync_engine, "before_cursor_execute", self._count_statement)
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
    def _writer(self) -> SqliteWriter | PostgresWriter | PortableWriter:
        return self._sqlite or self._postgres or self._portable

    def now(self) -> ColumnElement[float]:
        """The database's clock, in seconds since the epoch."""
        return database_now(self._engine)

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
        await self._writer.create(
            created, owner=owner, alongside=alongside, first_attempt=first_attempt
        )
        return created

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool = False
    ) -> None:
        await self._writer.begin_attempt(state, start, close_interrupted=close_interrupted)

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
        if next_start is not None:
            next_state = next_state.evolve(attempt=next_start.attempt)
        await self._writer.finish_attempt(
            state,
            start,
            end,
            next_state,
            next_start=next_start,
            retry_seconds=(retry_after or timedelta()).total_seconds(),
            release=release,
        )

    async def transition(
        self, state: SagaState, next_state: SagaState, *, event: SagaEvent | None = None
    ) -> None:
        # PostgreSQL's writer has no transition: operators' writes are rare.
        writer = self._sqlite or self._portable
        await writer.transition(state, next_state, event)

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        query = select(events).where(events.c.saga_id == saga_id).order_by(events.c.id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
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
            conditions += [sagas.c.status.in_(ACTIVE_STATUSES), self._waiting()]
        page = (
            select(sagas, self._waiting())
            .where(*conditions)
            .order_by(sagas.c.created_at.desc(), sagas.c.id)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(sagas).where(*conditions)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(page)).all()
            total = (await conn.execute(count)).scalar_one()
        return [_to_state(row) for row in rows], int(total)

    async def count_by_status(self) -> dict[str, int]:
        query = select(sagas.c.status, func.count()).group_by(sagas.c.status)
        async with reading(self._engine) as conn:
            return {status: int(n) for status, n in (await conn.execute(query)).all()}

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        if limit < 1:
            return []
        candidates = (
            select(sagas.c.id)
            .where(
                sagas.c.status.in_(ACTIVE_STATUSES),
                self._unheld(),
                sagas.c.next_attempt_at <= self.now(),
            )
            .order_by(sagas.c.next_attempt_at)
            .limit(limit)
        )
        if self._is_postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        return await self._claim_where(sagas.c.id.in_(candidates.scalar_subquery()), owner)

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        condition = sagas.c.id == saga_id
        if not force:
            condition = and_(condition, self._unheld())
        claimed = await self._claim_where(condition, owner)
        return claimed[0] if claimed else None

    async def load(self, saga_id: str) -> SagaState | None:
        query = select(sagas, self._waiting()).where(sagas.c.id == saga_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(query)).first()
        return _to_state(row) if row else None

    async def count_waiting(self) -> list[tuple[str, int, str, int, int]]:
        """Active sagas waiting for a retry: (name, version, status, cursor, how many)."""
        key = (sagas.c.name, sagas.c.version, sagas.c.status, sagas.c.cursor)
        query = (
            select(*key, func.count())
            .where(sagas.c.status.in_(ACTIVE_STATUSES), sagas.c.next_attempt_at > self.now())
            .group_by(*key)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [(row[0], row[1], row[2], row[3], int(row[4])) for row in rows]

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        query = select(attempts).where(attempts.c.saga_id == saga_id).order_by(attempts.c.id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [_to_attempt(row) for row in rows]

    async def _claim_where(self, condition: ColumnElement[bool], owner: str) -> list[SagaState]:
        statement = (
            sql_update(sagas)
            .where(condition)
            .values(
                owner=owner,
                fencing_token=sagas.c.fencing_token + 1,
                lease_expires_at=self._portable.renewed_lease(),
            )
            .returning(*sagas.c)
        )
        async with self._engine.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return [_to_state(row) for row in rows]

    def _count_statement(self, *_event: Any) -> None:
        self._statements += 1

    def _waiting(self) -> Label[bool]:
        """Whether the saga's next attempt is ahead (by the database's clock)."""
        return (sagas.c.next_attempt_at > self.now()).label("waiting")

    def _unheld(self) -> ColumnElement[bool]:
        return or_(sagas.c.lease_expires_at.is_(None), sagas.c.lease_expires_at < self.now())


def _to_state(row: Row[Any]) -> SagaState:
    return SagaState(
        id=row.id,
        name=row.name,
        version=row.version,
        status=SagaStatus(row.status),
        input=row.input,
        results=row.results,
        cursor=row.cursor,
        attempt=row.attempt,
        attempt_base=row.attempt_base,
        failure=Failure.from_json(row.failure),
        compensation_failure=Failure.from_json(row.compensation_failure),
        deadline_at=row.deadline_at,
        fencing_token=row.fencing_token,
        created_at=row.created_at,
        updated_at=row.updated_at,
        retry_at=row.next_attempt_at if getattr(row, "waiting", False) else None,
    )


def _to_attempt(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(
        saga_id=row.saga_id,
        step=row.step,
        direction=Direction(row.direction),
        attempt=row.attempt,
        idempotency_key=row.idempotency_key,
        status=AttemptStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=row.result,
        error=row.error,
    )
