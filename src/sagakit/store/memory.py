"""A store in a dict: for unit tests and for trying the engine out without a database.

It keeps the same promises as the SQL store (fenced writes, leases, one outcome and
next state written together) so executor tests exercise the real rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sagakit.errors import LeaseLost, SagaError, SagaNotFound
from sagakit.retention import OnPrune, Pruned, Retention
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    AttemptStatus,
    Delivery,
    SagaEvent,
    SagaState,
    SagaStatus,
    Signal,
)
from sagakit.store.tables import FINISHED_STATUSES


@dataclass
class _Row:
    state: SagaState
    owner: str | None
    lease_expires_at: float | None
    next_attempt_at: float


class InMemorySagaStore:
    """A ``SagaStore[Never]``: with no transaction of the application's to join, it takes
    nothing alongside a saga, and a type checker refuses ``alongside`` for it."""

    def __init__(
        self,
        *,
        lease_duration: timedelta = timedelta(seconds=30),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lease = lease_duration.total_seconds()
        self._clock = clock
        self._rows: dict[str, _Row] = {}
        self._attempts: dict[str, list[AttemptRecord]] = {}
        self._events: dict[str, list[SagaEvent]] = {}
        self._signals: dict[tuple[str, str], Signal] = {}

    @property
    def lease_duration(self) -> timedelta:
        return timedelta(seconds=self._lease)

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: None = None,
        first_attempt: AttemptStart | None = None,
    ) -> SagaState:
        if alongside is not None:  # only from code that no type checker read
            raise TypeError(
                "InMemorySagaStore has no transaction to write `alongside` in: "
                "use SqlSagaStore to store the application's records with the saga"
            )
        if state.id in self._rows:
            raise SagaError(f"a saga with id {state.id!r} exists already")
        now = self._clock()
        created = replace(state, fencing_token=1, created_at=now, updated_at=now)
        self._rows[state.id] = _Row(created, owner, now + self._lease, now)
        self._attempts[state.id] = []
        if first_attempt is not None:
            _append_started(self._attempts[state.id], first_attempt)
        return created

    async def begin_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None = None,
        close_interrupted: bool = False,
    ) -> None:
        row = self._fenced(state)
        history = self._attempts[state.id]
        if close_interrupted:
            for i, record in enumerate(history):
                if record.status is AttemptStatus.STARTED:
                    history[i] = replace(record, status=AttemptStatus.INTERRUPTED)
        _append_started(history, start)
        self._save(row, next_state or replace(row.state, attempt=start.attempt), renew=True)

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
        row = self._fenced(state)
        history = self._attempts[state.id]
        for i, record in enumerate(history):
            if (record.step, record.direction, record.attempt) == (
                start.step,
                start.direction,
                start.attempt,
            ):
                history[i] = replace(
                    record,
                    status=end.status,
                    finished_at=end.finished_at,
                    result=end.result,
                    error=end.error,
                )
        if next_start is not None:
            _append_started(history, next_start)
            next_state = replace(next_state, attempt=next_start.attempt)
        if retry_after:
            row.next_attempt_at = self._clock() + retry_after.total_seconds()
        self._save(row, next_state, renew=not release)

    async def transition(
        self,
        state: SagaState,
        next_state: SagaState,
        *,
        event: SagaEvent | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        row = self._fenced(state)
        if retry_after:
            row.next_attempt_at = self._clock() + retry_after.total_seconds()
        self._save(row, next_state, renew=not release)
        if event is not None:
            self._events.setdefault(state.id, []).append(event)

    async def deliver(self, signal: Signal) -> Delivery:
        row = self._rows.get(signal.saga_id)
        if row is None:
            raise SagaNotFound(f"no saga has id {signal.saga_id}")
        held = self._signals.setdefault((signal.saga_id, signal.name), signal)
        if held is not signal:
            return Delivery(held, recorded=False)
        waits = row.state.wait_until is not None and row.state.status is SagaStatus.RUNNING
        if waits:
            row.next_attempt_at = self._clock()
        return Delivery(signal, recorded=True)

    async def clock_offset(self) -> float:
        return 0.0  # one process, one clock

    async def signal(self, saga_id: str, name: str) -> Signal | None:
        return self._signals.get((saga_id, name))

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        return list(self._events.get(saga_id, []))

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        now = self._clock()
        due = [
            row
            for row in self._rows.values()
            if row.state.status.is_active and self._is_free(row, now) and row.next_attempt_at <= now
        ]
        due.sort(key=lambda row: row.next_attempt_at)
        return [self._lease_to(row, owner) for row in due[:limit]]

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        row = self._rows.get(saga_id)
        if row is None or not (force or self._is_free(row, self._clock())):
            return None
        return self._lease_to(row, owner)

    async def load(self, saga_id: str) -> SagaState | None:
        row = self._rows.get(saga_id)
        if row is None:
            return None
        waiting = row.state.status.is_active and row.next_attempt_at > self._clock()
        return replace(row.state, retry_at=row.next_attempt_at if waiting else None)

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        return list(self._attempts.get(saga_id, []))

    async def prune(self, retention: Retention, *, on_prune: OnPrune | None = None) -> Pruned:
        """Delete one batch of finished sagas (see :mod:`sagakit.retention`); ``on_prune``
        gets None for a connection."""
        chosen = self._prunable(retention)[: retention.batch]
        if not chosen:
            return Pruned()
        if on_prune is not None:
            await on_prune(None, chosen)
        rows = 0
        for state in chosen:
            del self._rows[state.id]
            rows += 1 + len(self._attempts.pop(state.id, []))
            rows += len(self._events.pop(state.id, []))
            for key in [key for key in self._signals if key[0] == state.id]:
                del self._signals[key]
                rows += 1
        return Pruned(len(chosen), rows)

    async def count_prunable(self, retention: Retention) -> int:
        return len(self._prunable(retention))

    async def oldest_finished(self) -> float | None:
        return min((state.updated_at for state in self._finished()), default=None)

    def _finished(self) -> list[SagaState]:
        finished = [row.state for row in self._rows.values()]
        return [state for state in finished if state.status.value in FINISHED_STATUSES]

    def _prunable(self, retention: Retention) -> list[SagaState]:
        """The sagas ``retention`` lets go, oldest first (as the SQL store decides)."""
        finished = sorted(self._finished(), key=lambda state: state.updated_at)
        bounds: list[float] = []
        if retention.keep_for is not None:
            bounds.append(self._clock() - retention.keep_for.total_seconds())
        if retention.keep_last == 0:
            return finished
        if retention.keep_last is not None and len(finished) >= retention.keep_last:
            bounds.append(finished[-retention.keep_last].updated_at)
        if not bounds:
            return []
        return [state for state in finished if state.updated_at < max(bounds)]

    def _is_free(self, row: _Row, now: float) -> bool:
        return row.lease_expires_at is None or row.lease_expires_at < now

    def _lease_to(self, row: _Row, owner: str) -> SagaState:
        row.owner = owner
        row.lease_expires_at = self._clock() + self._lease
        row.state = replace(row.state, fencing_token=row.state.fencing_token + 1)
        return row.state

    def _fenced(self, state: SagaState) -> _Row:
        row = self._rows[state.id]
        if row.state.fencing_token != state.fencing_token:
            raise LeaseLost(f"saga {state.id} was claimed by {row.owner}")
        return row

    def _save(self, row: _Row, state: SagaState, *, renew: bool) -> None:
        now = self._clock()
        row.state = replace(state, fencing_token=row.state.fencing_token, updated_at=now)
        if state.status.is_terminal or not renew:
            row.owner, row.lease_expires_at = None, None
        else:
            row.lease_expires_at = now + self._lease


def _append_started(history: list[AttemptRecord], start: AttemptStart) -> None:
    """Like the SQL store's unique index: one row per step, direction and attempt."""
    if any(
        (r.step, r.direction, r.attempt) == (start.step, start.direction, start.attempt)
        for r in history
    ):
        raise SagaError(f"attempt {start.attempt} of {start.step} {start.direction} exists")
    history.append(AttemptRecord.of(start))
