"""A saga that an engine started or was asked about: its id, its state, its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sagakit.errors import SagaNotFound
from sagakit.state import AttemptRecord, DriveResult, SagaState

if TYPE_CHECKING:
    from sagakit.store import SagaStore

Settle = Callable[[str], Awaitable[SagaState]]
"""Wait until the saga with this id is terminal: the engine's, which knows whether it
drives the saga itself (and wakes the waiter) or must poll the store."""


class SagaHandle:
    """One saga, as ``SagaEngine.start``, ``retry``, ``abort`` and ``handle`` return it.

    ``id`` names it; ``status()`` reads where it is now; ``result()`` waits for it to end
    (``completed``, ``compensated`` or ``failed``) wherever it is driven: by this engine,
    by another process after a crash, or by a worker once a long retry falls due.
    """

    def __init__(
        self,
        saga_id: str,
        *,
        store: SagaStore[Any],
        settle: Settle,
        driving: asyncio.Task[DriveResult | None] | None = None,
    ) -> None:
        self.id = saga_id
        self._store, self._settle, self._driving = store, settle, driving

    def __repr__(self) -> str:
        return f"SagaHandle({self.id!r})"

    async def status(self) -> SagaState:
        """The saga's state as stored now."""
        state = await self._store.load(self.id)
        if state is None:
            raise SagaNotFound(f"no saga has id {self.id}")
        return state

    async def result(self) -> SagaState:
        """The saga's state once it has ended.

        Bound the wait with ``asyncio.timeout``: giving up waiting, or cancelling the
        waiter, never stops the saga.
        """
        driven = await self._driven()
        if driven is not None and driven.state.status.is_terminal:
            return driven.state
        # Parked for a long retry, or let go: whoever drives it on will end it.
        return await self._settle(self.id)

    async def rest(self) -> SagaState:
        """The saga's state once this engine has let go of it: ended, or parked to wait
        (for an event, a delay or a long retry), or let go after losing its lease. For a
        saga this handle's engine does not drive, its state now.

        What an API answers with when a saga may wait for minutes: its outcome if it
        ends at once, else where it waits.
        """
        driven = await self._driven()
        if driven is not None:
            return driven.state
        return await self.status()

    async def history(self) -> Sequence[AttemptRecord]:
        """Every attempt of the saga so far, oldest first.

        A saga this engine started and drove without a break needs no read: its
        attempts were kept as they were recorded.
        """
        driven = await self._driven() if self._done() else None
        if driven is not None and driven.history is not None:
            return driven.history
        return await self._store.attempts(self.id)

    def _done(self) -> bool:
        return self._driving is not None and self._driving.done()

    async def _driven(self) -> DriveResult | None:
        if self._driving is None:
            return None
        try:
            # Shielded: a waiter that gives up must not cancel the drive itself.
            return await asyncio.shield(self._driving)
        except asyncio.CancelledError:
            if not self._driving.cancelled():
                raise  # the waiter was cancelled
            return None  # the engine closed; its lease expires and another ends it
