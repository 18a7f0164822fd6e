"""Driving one saga: forward step by step, then back, recording every attempt.

For each attempt the executor writes ahead (the attempt row, committed), calls the
action with no transaction open, then writes the outcome together with the saga's
next state and the next attempt begun. Whatever instant a process dies at, the log
tells a successor what may have happened, and the successor calls the unfinished
step again with the same idempotency key. A ``Parallel`` group's members do the same
side by side (``group``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sagakit.definition import Direction, Saga, idempotency_key
from sagakit.group import GroupRun
from sagakit.invoke import attempt_end, hear, invoke, waiting_context
from sagakit.observer import SagaObserver
from sagakit.progress import (
    Decision,
    Outcome,
    OutcomeKind,
    Uniform,
    begin_wait,
    current_step,
    decide,
    end_wait,
    group_at,
    stop_forward,
)
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    DriveResult,
    Failure,
    SagaEvent,
    SagaState,
    SagaStatus,
    Signal,
    SignalKind,
)
from sagakit.store import SagaStore

log = logging.getLogger("sagakit")

Sleep = Callable[[float], Awaitable[None]]


class Executor:
    """Steps sagas against a store; the engine decides which sagas, and when."""

    def __init__(
        self,
        *,
        store: SagaStore[Any],  # whatever it takes alongside: the executor creates no saga
        observer: SagaObserver,
        clock: Callable[[], float],
        sleep: Sleep,
        uniform: Uniform,
        deps: Any,
        owner: str,
    ) -> None:
        self._store, self._observer, self._deps, self._owner = store, observer, deps, owner
        self._clock, self._sleep, self._uniform = clock, sleep, uniform

    def first_attempt(self, saga: Saga, state: SagaState) -> AttemptStart | None:
        """The attempt a new saga is stored with, begun: its first step's (a group's
        members begin their own, side by side, once it is driven)."""
        return None if group_at(saga, state) is not None else self.attempt_start(saga, state)

    def attempt_start(self, saga: Saga, state: SagaState) -> AttemptStart:
        """The next attempt of the saga's current step, starting now."""
        step = current_step(saga, state)
        return AttemptStart(
            saga_id=state.id,
            step=step.name,
            direction=state.direction,
            attempt=state.attempt + 1,
            idempotency_key=idempotency_key(state.id, step.name, state.direction),
            started_at=self._clock(),
        )

    async def drive(
        self, saga: Saga, state: SagaState, *, begun: AttemptStart | None, claimed: bool
    ) -> DriveResult:
        """Drive a held saga until it is terminal or parked for a long retry.

        ``begun`` is an attempt already recorded as started with the saga (its first,
        written when the saga was created). ``claimed`` says the saga was taken over
        from the log, so attempts a dead process left open are closed as
        ``interrupted`` before the next begins; otherwise this engine has just created
        it, and its history starts here and comes back whole.
        """
        close_interrupted = claimed
        history: list[AttemptRecord] | None = None if claimed else []
        while state.status.is_active:
            if begun is None and self._deadline_passed(state):
                failure = Failure(
                    step=saga.label(state.cursor),
                    direction=Direction.FORWARD,
                    code="deadline_exceeded",
                    error=f"its deadline passed ({_utc(state.deadline_at)})",
                )
                next_state = stop_forward(saga, state, failure)
                await self._store.transition(state, next_state)
                state = next_state
                continue
            if state.wait_until is not None:
                waited = await self._end_wait(saga, state)
                if waited is None:  # parked until its event or its timeout
                    return DriveResult(state, _whole(history))
                state = waited
                continue
            if begun is None and group_at(saga, state) is not None:
                run = GroupRun(
                    saga=saga,
                    state=state,
                    store=self._store,
                    deps=self._deps,
                    clock=self._clock,
                    sleep=self._sleep,
                    uniform=self._uniform,
                    deadline_passed=self._deadline_passed,
                    close_interrupted=close_interrupted,
                    recorded=self._recorded,
                )
                await run.run()
                state, close_interrupted = run.state, run.close_interrupted
                if history is not None:
                    history.extend(run.records)
                if await run.parked():
                    return DriveResult(state, _whole(history))
                continue
            if begun is None:
                begun = self.attempt_start(saga, state)
                await self._store.begin_attempt(state, begun, close_interrupted=close_interrupted)
                close_interrupted = False
                state = state.evolve(attempt=begun.attempt)
            outcome = await invoke(saga, state, begun, self._deps)
            decision = self._decide(saga, state, begun, outcome)
            next_state, retry_after = decision.state, decision.retry_after
            park = retry_after is not None and retry_after > self._store.lease_duration / 2
            if retry_after is not None:
                retry_after = self._until_deadline(next_state, retry_after)
            end = attempt_end(begun, outcome, finished_at=self._clock())
            next_start = None
            if (
                retry_after is None
                and next_state.status.is_active
                and next_state.wait_until is None
                and group_at(saga, next_state) is None
                and not self._deadline_passed(next_state)
            ):
                # The next attempt begins in the same transaction; it starts no earlier
                # than this one finished.
                next_start = self.attempt_start(saga, next_state)
            await self._store.finish_attempt(
                state,
                begun,
                end,
                next_state,
                next_start=next_start,
                retry_after=retry_after,
                release=park,
            )
            self._recorded(state, begun, end)
            if history is not None:
                history.append(AttemptRecord.of(begun, end))
            state, begun = next_state, next_start
            if next_start is not None:
                state = state.evolve(attempt=next_start.attempt)
            if park:
                return DriveResult(state, _whole(history))
            if retry_after is not None:
                await self._sleep(retry_after.total_seconds())
        self._observer.saga_settled(state)
        return DriveResult(state, _whole(history))

    def _recorded(self, state: SagaState, start: AttemptStart, end: AttemptEnd) -> None:
        _log_attempt(start, end)
        self._observer.attempt_finished(state, start, end)

    def _decide(
        self, saga: Saga, state: SagaState, begun: AttemptStart, outcome: Outcome
    ) -> Decision:
        wait = current_step(saga, state).wait
        forward = begun.direction is Direction.FORWARD
        if forward and wait is not None and outcome.kind is OutcomeKind.SUCCEEDED:
            try:
                if wait.needed(outcome.result):
                    waiting = begin_wait(saga, state, outcome.result, until=self._clock())
                    timeout = wait.timeout_for(waiting_context(saga, waiting, self._deps))
                    until = self._clock() + timeout.total_seconds()
                    return Decision(state=waiting.evolve(wait_until=until))
            except Exception as error:  # a bug in when or timeout: the step cannot wait
                outcome = Outcome(
                    kind=OutcomeKind.FATAL,
                    code="wait_not_understood",
                    error=f"waiting for {wait.event!r}: {type(error).__name__}: {error}",
                )
        return decide(saga, state, outcome, uniform=self._uniform)

    async def _end_wait(self, saga: Saga, state: SagaState) -> SagaState | None:
        """End the step's wait if its event came or its time is up; else park the saga
        (None), or take it back at once if the event arrived while it was parking."""
        wait = current_step(saga, state).wait
        assert wait is not None and state.wait_until is not None
        held = await self._store.signal(state.id, wait.event)
        now = self._clock()
        if held is None and now < state.wait_until:
            due = min(state.wait_until, state.deadline_at or state.wait_until)
            await self._store.transition(
                state, state, retry_after=timedelta(seconds=max(due - now, 0.0)), release=True
            )
            # An event recorded before the park made the saga due only to see the park
            # put it off again, and its sender could not take the saga while this
            # process held it: look once more, now that the lease is let go.
            if await self._store.signal(state.id, wait.event) is None:
                return None
            return await self._store.claim(state.id, owner=self._owner)
        if held is None:
            # Time is up: record the timeout, unless an event is recorded first.
            timeout = Signal(
                saga_id=state.id,
                name=wait.event,
                kind=SignalKind.TIMEOUT,
                key="timeout",
                sender="sagakit",
                at=now,
            )
            held = (await self._store.deliver(timeout)).signal
        outcome = hear(saga, state, held, self._deps)
        next_state = end_wait(saga, state, outcome)
        if wait.timer:
            heard = "the delay passed"
        elif outcome.kind is OutcomeKind.SUCCEEDED:
            heard = "accepted"
        else:
            heard = outcome.error or outcome.kind.value
        event = SagaEvent(
            saga_id=state.id,
            kind=held.kind.value,
            actor=held.sender,
            at=now,
            detail=f"{wait.event}: {heard}",
        )
        await self._store.transition(state, next_state, event=event)
        return next_state

    def _until_deadline(self, state: SagaState, wait: timedelta) -> timedelta:
        """``wait``, or less if the saga's deadline comes first: a saga backing off for a
        retry is due at its deadline, to stop going forward then."""
        if state.status is not SagaStatus.RUNNING or state.deadline_at is None:
            return wait
        left = timedelta(seconds=max(state.deadline_at - self._clock(), 0.0))
        return min(wait, left)

    def _deadline_passed(self, state: SagaState) -> bool:
        return (
            state.status is SagaStatus.RUNNING
            and state.deadline_at is not None
            and self._clock() >= state.deadline_at
        )


def _log_attempt(start: AttemptStart, end: AttemptEnd) -> None:
    log.info(
        "saga %s step %s %s attempt %d: %s",
        start.saga_id,
        start.step,
        start.direction.value,
        start.attempt,
        end.status.value,
        extra={
            "saga_id": start.saga_id,
            "step": start.step,
            "direction": start.direction.value,
            "attempt": start.attempt,
            "status": end.status.value,
        },
    )


def _whole(history: list[AttemptRecord] | None) -> tuple[AttemptRecord, ...] | None:
    return tuple(history) if history is not None else None


def _utc(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch or 0.0, UTC).isoformat(timespec="seconds")
