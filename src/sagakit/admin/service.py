"""Reading saga history and steering sagas: the admin use cases, free of HTTP.

An application can name whom each saga is for (its ``Subject``: the checkout's
customer), so operators see it in lists and filter by it; the engine itself never
knows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, Select, select

from sagakit.admin.schemas import (
    AttemptOut,
    EventOut,
    FailureOut,
    PruneOut,
    PruneRequest,
    SagaDetail,
    SagaFilters,
    SagaPage,
    SagaSummary,
    StatusCounts,
    WaitOut,
)
from sagakit.definition import Direction, Saga
from sagakit.errors import SagaNotFound, UnknownSagaError
from sagakit.handle import SagaHandle
from sagakit.retention import OnPrune, Pruned, Pruner, Retention
from sagakit.state import AttemptRecord, AttemptStatus, Failure, SagaEvent, SagaState, SagaStatus
from sagakit.store.tables import sagas


@dataclass(frozen=True, kw_only=True)
class Subject:
    """Whom a saga is for, as the application names it.

    ``label`` titles it on the dashboard ("Customer"); ``of`` reads it from a saga
    (usually from its input); ``sagas_of`` selects the ids of one subject's sagas from
    the application's own tables, in the saga store's database.
    """

    label: str
    of: Callable[[SagaState], str | None]
    sagas_of: Callable[[str], Select[tuple[str]]]


class SagaHistory(Protocol):
    """What the admin reads from the saga store (``SqlSagaStore`` provides it)."""

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
    ) -> tuple[list[SagaState], int]: ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def count_waiting(self) -> list[tuple[str, int, str, int, int]]: ...

    async def load(self, saga_id: str) -> SagaState | None: ...

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]: ...

    async def events(self, saga_id: str) -> Sequence[SagaEvent]: ...

    async def prune(self, retention: Retention, *, on_prune: OnPrune | None = None) -> Pruned: ...

    async def count_prunable(self, retention: Retention) -> int: ...

    async def oldest_finished(self) -> float | None: ...


class SagaSteering(Protocol):
    """The operator actions of ``SagaEngine``."""

    def definition(self, state: SagaState) -> Saga: ...

    def definition_for(self, name: str, version: int) -> Saga: ...

    async def retry(self, saga_id: str, *, actor: str = ...) -> SagaHandle: ...

    async def abort(self, saga_id: str, *, actor: str = ..., reason: str = ...) -> SagaHandle: ...


class SubjectUnknown(ValueError):
    """A filter by subject, where the application names none."""


class SagaAdmin:
    """What an operator reads and does: lists, counts, one saga's history, retry, abort.

    ``history`` is the saga store, ``engine`` the engine whose definitions name the
    steps and which carries out retries and aborts. ``on_action`` hears each action
    taken (for a metric, say); ``on_prune`` is the application's hook for the sagas an
    operator's prune deletes (see :mod:`sagakit.retention`).
    """

    def __init__(
        self,
        *,
        history: SagaHistory,
        engine: SagaSteering,
        subject: Subject | None = None,
        clock: Callable[[], float] = time.time,
        on_action: Callable[[str], None] = lambda _action: None,
        on_prune: OnPrune | None = None,
    ) -> None:
        self._history, self._engine, self._clock = history, engine, clock
        self.subject = subject
        self._on_action = on_action
        self._on_prune = on_prune

    async def list_sagas(self, filters: SagaFilters) -> SagaPage:
        conditions = self._id_conditions(filters)
        ids = select(sagas.c.id).where(*conditions) if conditions else None
        created_before = None
        if filters.older_than_seconds is not None:
            created_before = self._clock() - filters.older_than_seconds
        states, total = await self._history.list_sagas(
            statuses=[filters.status.value] if filters.status else (),
            name=filters.definition,
            created_before=created_before,
            ids=ids,
            waiting=filters.waiting,
            limit=filters.limit,
            offset=filters.offset,
        )
        return SagaPage(items=[self._summary(state) for state in states], total=total)

    async def counts(self) -> StatusCounts:
        counts = await self._history.count_by_status()
        waiting: Counter[str] = Counter()
        for name, version, status, cursor, count in await self._history.count_waiting():
            waiting[self._step_name(name, version, status, cursor)] += count
        return StatusCounts(counts=counts, total=sum(counts.values()), waiting=dict(waiting))

    async def show(self, saga_id: str) -> SagaDetail:
        state = await self._history.load(saga_id)
        if state is None:
            raise SagaNotFound(f"no saga has id {saga_id}")
        attempts = await self._history.attempts(saga_id)
        events = await self._history.events(saga_id)
        summary = self._summary(state)
        definition = self._engine.definition(state)
        return SagaDetail(
            **summary.model_dump(),
            steps=[step.name for step in definition.steps],
            input=state.input,
            results=state.results,
            deadline_at=_time(state.deadline_at),
            attempts=[_attempt(a) for a in attempts],
            events=[
                EventOut(kind=e.kind, actor=e.actor, at=_utc(e.at), detail=e.detail) for e in events
            ],
            waits=_waits(definition, state, attempts, events),
        )

    async def retry(self, saga_id: str, *, actor: str) -> SagaDetail:
        """Resume a ``failed`` saga's compensations in the background; its detail now."""
        await self._engine.retry(saga_id, actor=actor)
        self._on_action("retry")
        return await self.show(saga_id)

    async def abort(self, saga_id: str, *, actor: str, reason: str) -> SagaDetail:
        """Stop a ``running`` saga and compensate in the background; its detail now."""
        await self._engine.abort(saga_id, actor=actor, reason=reason)
        self._on_action("abort")
        return await self.show(saga_id)

    async def prune(self, request: PruneRequest) -> PruneOut:
        """Delete (or count) the finished sagas ``request`` lets go, up to its limit."""
        keep_for = request.older_than_seconds
        retention = Retention(
            keep_for=timedelta(seconds=keep_for) if keep_for is not None else None,
            keep_last=request.keep_last,
        )
        if request.dry_run:
            count = await self._history.count_prunable(retention)
            return PruneOut(dry_run=True, sagas=count, rows=0, more=False)
        pruner = Pruner(self._history, retention, on_prune=self._on_prune)
        pruned = await pruner.prune(max_sagas=request.limit)
        self._on_action("prune")
        more = retention.bounded and await self._history.count_prunable(retention) > 0
        return PruneOut(dry_run=False, sagas=pruned.sagas, rows=pruned.rows, more=more)

    def _id_conditions(self, filters: SagaFilters) -> list[ColumnElement[bool]]:
        conditions = []
        if filters.id_prefix is not None:
            # Ids are stored as given and prefixes lower-cased, as uuid4 ids are written;
            # autoescape in case the prefix's validation ever admits LIKE's wildcards.
            conditions.append(sagas.c.id.startswith(filters.id_prefix, autoescape=True))
        if filters.subject is not None:
            if self.subject is None:
                raise SubjectUnknown("this application names no subject for its sagas")
            subject_ids = self.subject.sagas_of(filters.subject).scalar_subquery()
            conditions.append(sagas.c.id.in_(subject_ids))
        return conditions

    def _summary(self, state: SagaState) -> SagaSummary:
        return SagaSummary(
            id=state.id,
            name=state.name,
            version=state.version,
            status=state.status,
            subject=self.subject.of(state) if self.subject else None,
            step=self._step_at(state),
            attempt=state.attempt,
            failure=_failure(state.failure),
            compensation_failure=_failure(state.compensation_failure),
            waiting_until=_time(state.retry_at),
            waiting_for=self._awaited(state),
            created_at=_utc(state.created_at),
            updated_at=_utc(state.updated_at),
        )

    def _awaited(self, state: SagaState) -> str | None:
        if state.wait_until is None:
            return None
        try:
            wait = self._engine.definition(state).steps[state.cursor].wait
        except (UnknownSagaError, IndexError):
            return None
        return wait.event if wait else None

    def _step_name(self, name: str, version: int, status: str, cursor: int) -> str:
        try:
            return _at(self._engine.definition_for(name, version), status, cursor)
        except (UnknownSagaError, IndexError):
            return f"{name} v{version} step {cursor}"

    def _step_at(self, state: SagaState) -> str | None:
        try:
            return _at(self._engine.definition(state), state.status, state.cursor)
        except (UnknownSagaError, IndexError):  # an old definition, or a saga done
            return None


def _at(saga: Saga, status: str, cursor: int) -> str:
    """The step a saga is at; going forward at a ``Parallel`` group, its members, joined
    by ``+`` ("reserve+quote"): they run side by side."""
    if status == SagaStatus.RUNNING:
        return saga.label(cursor)
    return saga.steps[cursor].name


def _waits(
    definition: Saga,
    state: SagaState,
    attempts: Sequence[AttemptRecord],
    events: Sequence[SagaEvent],
) -> list[WaitOut]:
    """Each wait begun: from its step's succeeded action to the signal that ended it,
    read from the log (the engine records the end as an ``event`` or ``timeout``), or
    still going on. A step whose action asked for no wait (``Await.when``) had none."""
    waits = []
    for index, step in enumerate(definition.steps):
        if step.wait is None:
            continue
        began = [
            a.finished_at
            for a in attempts
            if a.step == step.name
            and a.direction is Direction.FORWARD
            and a.status is AttemptStatus.SUCCEEDED
            and a.finished_at is not None
        ]
        if not began:
            continue
        ended = next(
            (
                e
                for e in events
                if e.kind in ("event", "timeout")
                and (e.detail or "").startswith(f"{step.wait.event}:")
            ),
            None,
        )
        waiting = state.wait_until is not None and state.cursor == index
        if ended is None and not waiting:
            continue
        waits.append(
            WaitOut(
                step=step.name,
                event=step.wait.event,
                started_at=_utc(began[-1]),
                ended_at=_utc(ended.at) if ended else None,
                ended_by=ended.kind if ended else None,
            )
        )
    return waits


def _attempt(record: AttemptRecord) -> AttemptOut:
    duration = None
    if record.finished_at is not None:
        duration = max(record.finished_at - record.started_at, 0.0)
    return AttemptOut(
        step=record.step,
        direction=record.direction.value,
        attempt=record.attempt,
        status=record.status.value,
        started_at=_utc(record.started_at),
        finished_at=_time(record.finished_at),
        duration_seconds=duration,
        error=record.error,
        idempotency_key=record.idempotency_key,
    )


def _failure(failure: Failure | None) -> FailureOut | None:
    if failure is None:
        return None
    return FailureOut(
        step=failure.step, direction=failure.direction.value, code=failure.code, error=failure.error
    )


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _time(epoch: float | None) -> datetime | None:
    return _utc(epoch) if epoch is not None else None
