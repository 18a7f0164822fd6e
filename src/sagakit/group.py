"""Driving a ``Parallel`` group: its members' attempts side by side, each written ahead.

While the cursor is at a group, every member that has not succeeded runs the
executor's loop on its own, with its own retry policy: begin (the attempt row and the
member's count, committed), call (no transaction open), finish (the outcome and the
saga's next state, committed together). The members' writes take turns under one
lock, each carrying the saga's state as all the members have left it, so no outcome
is lost to another member's write; only the calls overlap.

When a member fails for good, the group stops: no member begins another attempt,
those backing off stop waiting, and those in flight are awaited (each bounded by its
step's timeout), a success among them kept for its compensation. The saga then
compensates from the group's last attempted member (see ``progress``).

A member that must back off for longer than half the lease stops without holding the
others up. Once no member can go on now, the pass ends, and the executor parks the
saga until the earliest member is due; whoever claims it then runs the pending
members again, each no sooner than its own retry time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from sagakit.definition import Direction, Saga, Step, idempotency_key
from sagakit.invoke import attempt_end, invoke
from sagakit.progress import (
    Outcome,
    Uniform,
    begin_member,
    decide_member,
    group_at,
    group_retry_at,
    member_progress,
    member_settled,
    pending_members,
)
from sagakit.state import AttemptEnd, AttemptRecord, AttemptStart, SagaState
from sagakit.store import SagaStore

Recorded = Callable[[SagaState, AttemptStart, AttemptEnd], None]
"""Told of each attempt once its outcome is committed (to log it, and the observer)."""


class GroupRun:
    """One pass over the group at the cursor of ``state``, until no member can go on
    now: ``state`` is then where the saga rests, and ``records`` the attempts made."""

    def __init__(
        self,
        *,
        saga: Saga,
        state: SagaState,
        store: SagaStore[Any],
        deps: Any,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        uniform: Uniform,
        deadline_passed: Callable[[SagaState], bool],
        close_interrupted: bool,
        recorded: Recorded,
    ) -> None:
        self._saga, self._store, self._deps = saga, store, deps
        self._clock, self._sleep, self._uniform = clock, sleep, uniform
        self._deadline_passed, self._recorded = deadline_passed, recorded
        self._longest_wait = store.lease_duration.total_seconds() / 2
        self.state = state
        self.close_interrupted = close_interrupted
        """Still to do by the next attempt begun (the saga was just claimed)."""
        self.records: list[AttemptRecord] = []
        """The pass's attempts in the order they began, as the log keeps them."""
        self._turn = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._abandoned = False
        """A write failed, perhaps after it committed: what the saga holds is unknown
        here, so no member writes again (the pass ends, the saga is let go)."""

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as members:
                for step in pending_members(self._saga, self.state):
                    members.create_task(self._drive(step))
        except BaseExceptionGroup as failed:
            # A write failed (the lease lost, the store down): the saga is let go, and
            # the others were cancelled as if the process had died. One reason will do.
            raise failed.exceptions[0] from failed

    async def parked(self) -> bool:
        """After the pass: if the members left all back off for longer than half the
        lease, park the saga until the earliest is due (or its deadline), holding no
        lease, and say so. Otherwise (the group is done, failed or stopped, or a member
        is due soon) the executor goes on."""
        state = self.state
        if group_at(self._saga, state) is None or self._deadline_passed(state):
            return False
        now = self._clock()
        due = group_retry_at(self._saga, state)
        if due - now <= self._longest_wait:
            return False
        until = min(due, state.deadline_at or due)
        await self._store.transition(
            state, state, retry_after=timedelta(seconds=max(until - now, 0.0)), release=True
        )
        return True

    async def _drive(self, step: Step) -> None:
        while not self._stopped.is_set():
            wait = (member_progress(self.state, step.name).retry_at or 0.0) - self._clock()
            if wait > self._longest_wait:
                return  # the saga parks for it once the others rest
            if wait > 0 and not await self._back_off(wait):
                return
            begun = await self._begin(step)
            if begun is None:
                return
            start, state, position = begun
            outcome = await invoke(self._saga, state, start, self._deps)
            if not await self._finish(step, start, outcome, position):
                return

    async def _back_off(self, seconds: float) -> bool:
        """Wait ``seconds``, unless the group stops first (then False)."""
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait((sleeping, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()
        return not self._stopped.is_set()

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[bool]:
        """A member's turn to write: whether it may (no write has failed before)."""
        async with self._turn:
            if self._abandoned:
                yield False
                return
            try:
                yield True
            except BaseException:
                self._abandoned = True
                raise

    async def _begin(self, step: Step) -> tuple[AttemptStart, SagaState, int] | None:
        """Write the member's next attempt ahead, with its count; None if the group
        stopped meanwhile or its deadline passed (the executor stops it, once the
        attempts in flight are done)."""
        async with self._writing() as writable:
            if not writable or self._stopped.is_set() or self._deadline_passed(self.state):
                self._stopped.set()
                return None
            begun = begin_member(self.state, step.name)
            start = AttemptStart(
                saga_id=begun.id,
                step=step.name,
                direction=Direction.FORWARD,
                attempt=member_progress(begun, step.name).attempts,
                idempotency_key=idempotency_key(begun.id, step.name, Direction.FORWARD),
                started_at=self._clock(),
            )
            await self._store.begin_attempt(
                self.state, start, next_state=begun, close_interrupted=self.close_interrupted
            )
            self.close_interrupted = False
            self.state = begun
            self.records.append(AttemptRecord.of(start))
            return start, begun, len(self.records) - 1

    async def _finish(self, step: Step, start: AttemptStart, outcome: Outcome, at: int) -> bool:
        """Write the outcome with the saga's next state; whether to try again."""
        async with self._writing() as writable:
            if not writable:
                return False
            before = self.state
            if group_at(self._saga, before) is not None:
                decision = decide_member(
                    self._saga, before, step.name, outcome, now=self._clock(), uniform=self._uniform
                )
                after, again = decision.state, decision.retry_after is not None
            else:  # the group failed while this attempt was in flight
                after, again = member_settled(before, step.name, outcome), False
            end = attempt_end(start, outcome, finished_at=self._clock())
            await self._store.finish_attempt(before, start, end, after)
            self.state = after
            self.records[at] = AttemptRecord.of(start, end)
            self._recorded(before, start, end)
            if group_at(self._saga, after) is None:
                self._stopped.set()  # past the group, or failed: nobody begins again
            return again
