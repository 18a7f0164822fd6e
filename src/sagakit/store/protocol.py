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
from typing import Any, Protocol

from typing_extensions import TypeVar

from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    Delivery,
    SagaEvent,
    SagaState,
    Signal,
)

AlongsideT = TypeVar("AlongsideT", contravariant=True, default=Any)
"""What a store writes alongside a new saga, in the transaction that creates it: the
application's own writes (``SqlSagaStore`` takes ``Rows`` or a function of a SQLAlchemy
connection; ``InMemorySagaStore`` takes nothing). Contravariant: a store that takes more
serves wherever one that takes less is asked for. The default (``Any``) lets a bare
``SagaStore`` or ``SagaEngine`` annotation stand for one over any store."""


class SagaStore(Protocol[AlongsideT]):
    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: AlongsideT | None = None,
        first_attempt: AttemptStart | None = None,
    ) -> SagaState:
        """Insert a new saga, leased to ``owner``; returns it with its fencing token.

        ``alongside`` is the application's own writes, made in the same transaction so
        that its record and the saga are stored together or not at all; what form they
        take is the store's (``AlongsideT``). ``first_attempt`` is recorded as begun in
        that transaction too, as ``begin_attempt`` would (one write saved).
        """

    async def begin_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None = None,
        close_interrupted: bool = False,
    ) -> None:
        """Record that an attempt is about to run, and renew the lease.

        The saga's ``attempt`` becomes the attempt's number; or, given ``next_state``
        (with the same status), the saga's progress becomes ``next_state``'s, in the same
        transaction: a ``Parallel`` group's member counts its attempts there, and a
        successor must find the count with the row or number its next attempt twice.
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
        self,
        state: SagaState,
        next_state: SagaState,
        *,
        event: SagaEvent | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        """Persist a state change no attempt caused (deadline, abort, retry, the end of a
        wait), with the event that caused it, if any, in the same transaction.
        ``retry_after`` and ``release`` schedule and let go as in ``finish_attempt``."""

    async def deliver(self, signal: Signal) -> Delivery:
        """Record ``signal`` under its name unless the saga holds one there already
        (the first is final), and if it is recorded and the saga waits, make the saga
        due now. Says which signal the saga holds. ``SagaNotFound`` if there is no
        such saga."""

    async def signal(self, saga_id: str, name: str) -> Signal | None:
        """The signal the saga holds under ``name``, if any."""

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        """Operators' actions on the saga, oldest first."""

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        """Lease up to ``limit`` active sagas that nobody holds and that are due."""

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        """Lease one saga if nobody holds it (or whatever its lease, with ``force``)."""

    async def load(self, saga_id: str) -> SagaState | None: ...

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        """The saga's history, oldest first."""

    async def clock_offset(self) -> float:
        """Seconds to add to this process's clock (``time.time``) to read the store's:
        the database's clock, which every process sharing the store agrees on."""

    @property
    def lease_duration(self) -> timedelta: ...
