"""The boundary between the executor and persistence.

Every write that changes a saga is *fenced*: it names the fencing token the writer
holds and changes nothing (raising ``LeaseLost``) when another process has claimed the
saga since. Writes never span a call to a participant: an attempt is begun in one
short transaction, the action runs, and its outcome is recorded with the saga's next
state in another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from sagakit.state import AttemptEnd, AttemptRecord, AttemptStart, SagaEvent, SagaState
from sagakit.store.alongside import Alongside


class SagaStore(Protocol):
    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: Alongside | None = None,
        first_attempt: AttemptStart | None = None,
    ) -> SagaState:
        """Insert a new saga, leased to ``owner``; returns it with its fencing token.

        ``alongside`` lets a SQL store write the application's own rows (or run its
        function of a blocking SQLAlchemy connection) in the same transaction, so an
        application can store its record and the saga atomically. ``first_attempt`` is recorded as
        begun in that transaction too, as ``begin_attempt`` would (one write saved).
        """

    async def begin_attempt(
        self, state: SagaState, start: AttemptStart, *, close_interrupted: bool = False
    ) -> None:
        """Record that an attempt is about to run, and renew the lease.

        ``close_interrupted`` marks attempts left ``started`` by a process that died as
        ``interrupted``: the caller has just claimed the saga and will call them again.
        """

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
        """Record an attempt's outcome and the saga's next state in one transaction.

        ``next_start`` begins the following attempt in the same transaction (one round
        trip per step instead of two). ``retry_after`` schedules the saga; without it
        the saga's due time stays as it was (already past), so an ordinary step leaves
        the due index alone. ``release`` gives up the lease so any process may pick the
        saga up when it is due.
        """

    async def transition(
        self, state: SagaState, next_state: SagaState, *, event: SagaEvent | None = None
    ) -> None:
        """Persist a state change no attempt caused (deadline, abort, retry), with the
        event that caused it, if any, in the same transaction."""

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        """Operators' actions on the saga, oldest first."""

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        """Lease up to ``limit`` active sagas that nobody holds and that are due."""

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        """Lease one saga if nobody holds it (or whatever its lease, with ``force``)."""

    async def load(self, saga_id: str) -> SagaState | None: ...

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        """The saga's history, oldest first."""

    @property
    def lease_duration(self) -> timedelta: ...
