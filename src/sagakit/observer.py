"""Hooks for metrics and logs: the engine tells an observer what happened, after it
was recorded. Observers must be quick and must not raise; the engine does not wait
on them for correctness."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sagakit.state import AttemptEnd, AttemptStart, SagaState


class SagaObserver(Protocol):
    def saga_started(self, state: SagaState) -> None: ...

    def attempt_finished(self, state: SagaState, start: AttemptStart, end: AttemptEnd) -> None:
        """``state`` is the saga before the attempt's outcome was applied."""

    def saga_settled(self, state: SagaState) -> None:
        """The saga reached a terminal status (``failed`` included)."""

    def sagas_claimed(self, states: Sequence[SagaState]) -> None:
        """This process took over sagas whose lease had expired (or were due)."""

    def lease_lost(self, saga_id: str) -> None: ...

    def saga_held(self, saga_id: str) -> None:
        """This process began driving the saga (started, claimed, woken or retried)."""

    def saga_let_go(self, saga_id: str) -> None:
        """This process stopped driving the saga: it ended, parked, or was lost."""


class NoObserver:
    def saga_started(self, state: SagaState) -> None:
        pass

    def attempt_finished(self, state: SagaState, start: AttemptStart, end: AttemptEnd) -> None:
        pass

    def saga_settled(self, state: SagaState) -> None:
        pass

    def sagas_claimed(self, states: Sequence[SagaState]) -> None:
        pass

    def lease_lost(self, saga_id: str) -> None:
        pass

    def saga_held(self, saga_id: str) -> None:
        pass

    def saga_let_go(self, saga_id: str) -> None:
        pass
