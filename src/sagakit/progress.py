"""How a saga moves, as pure functions of its definition, its state and an outcome.

Nothing here does I/O, so every rule of the state machine can be tested on its own
and the executor only has to persist what these functions decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sagakit.definition import JSON, Direction, RetryPolicy, Saga, Step
from sagakit.state import Failure, MemberProgress, SagaState, SagaStatus


class OutcomeKind(StrEnum):
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    """A business refusal: this attempt did nothing (an earlier one may have)."""
    FAILED = "failed"
    """A retryable error: the step may have taken effect."""
    TIMED_OUT = "timed_out"
    FATAL = "fatal"
    """A non-retryable error that is not a business refusal: the outcome is unknown."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    kind: OutcomeKind
    result: JSON = None
    error: str | None = None
    code: str | None = None
    retry_after: timedelta | None = None
    """The least wait before another attempt that the failure asked for."""


@dataclass(frozen=True, kw_only=True)
class Decision:
    state: SagaState
    retry_after: timedelta | None = None
    """Set when the same step and direction should be attempted again after a wait."""


def current_step(saga: Saga, state: SagaState) -> Step:
    return saga.steps[state.cursor]


Uniform = Callable[[float, float], float]
"""The source of jitter, ``random.uniform`` unless a test fixes it."""


def decide(saga: Saga, state: SagaState, outcome: Outcome, *, uniform: Uniform) -> Decision:
    """The state after ``outcome`` of the attempt at ``state``'s cursor."""
    if state.direction is Direction.FORWARD:
        return _after_forward(saga, state, outcome, uniform)
    return _after_compensation(saga, state, outcome, uniform)


def stop_forward(saga: Saga, state: SagaState, failure: Failure) -> SagaState:
    """Stop going forward (deadline, abort) and compensate every step that was started.

    The step under the cursor counts as started once an attempt of it has begun; at a
    group, each member that was attempted does (see ``member_started``).
    """
    if group_at(saga, state) is not None:
        first_to_undo = saga.spans[state.cursor].stop - 1
    else:
        first_to_undo = state.cursor if state.attempt > 0 else state.cursor - 1
    return _begin_compensation(saga, state.evolve(wait_until=None), first_to_undo, failure)


def group_at(saga: Saga, state: SagaState) -> range | None:
    """The steps of the ``Parallel`` group the saga is running, if it is at one."""
    if state.status is not SagaStatus.RUNNING or saga.steps[state.cursor].group is None:
        return None
    return saga.spans[state.cursor]


def pending_members(saga: Saga, state: SagaState) -> list[Step]:
    """The members of the group at the cursor that have not succeeded, in order."""
    span = group_at(saga, state)
    assert span is not None, "only a saga at a group has members"
    return [saga.steps[i] for i in span if saga.steps[i].name not in state.results]


def member_started(state: SagaState, name: str) -> bool:
    """Whether a group member may have acted: it succeeded, or an attempt of it began
    (its outcome, whatever it was, may still land)."""
    return name in state.results or member_progress(state, name).attempts > 0


def begin_member(state: SagaState, name: str) -> SagaState:
    """The member's next attempt is begun: its count, saved with its attempt row, says
    how many a successor must number after."""
    begun = MemberProgress(attempts=member_progress(state, name).attempts + 1)
    return state.evolve(members={**state.members, name: begun})


def decide_member(
    saga: Saga, state: SagaState, name: str, outcome: Outcome, *, now: float, uniform: Uniform
) -> Decision:
    """The state after ``outcome`` of member ``name``'s attempt, the group still going.

    A success is kept; the last one moves the saga past the group. A retryable failure
    with attempts left backs the member off until ``now`` plus the delay (the others go
    on). Any other failure fails the group: every member that was attempted is
    compensated, last first, then the steps before the group.
    """
    span = group_at(saga, state)
    assert span is not None, "a member's outcome is decided while its group runs"
    step = saga.steps[saga.step_index[name]]
    if outcome.kind is OutcomeKind.SUCCEEDED:
        results = {**state.results, name: outcome.result}
        if all(saga.steps[i].name in results for i in span):
            return Decision(state=_advance_to(saga, state, span.stop, results))
        return Decision(state=state.evolve(results=results))
    attempts = member_progress(state, name).attempts
    if _may_retry(step.retry, attempts, outcome):
        delay = _wait(step.retry.delay_before(attempts + 1, uniform=uniform), outcome, step.retry)
        backing_off = MemberProgress(attempts=attempts, retry_at=now + delay.total_seconds())
        members = {**state.members, name: backing_off}
        return Decision(state=state.evolve(members=members), retry_after=delay)
    failure = _failure(step, Direction.FORWARD, outcome)
    return Decision(state=_begin_compensation(saga, state, span.stop - 1, failure))


def member_settled(state: SagaState, name: str, outcome: Outcome) -> SagaState:
    """The outcome of a member's attempt that was in flight when its group stopped
    going forward: a success is kept, so its compensation gets its result; anything
    else changes nothing (the member is compensated as started either way)."""
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return state.evolve(results={**state.results, name: outcome.result})
    return state


def group_retry_at(saga: Saga, state: SagaState) -> float:
    """When the earliest pending member of the group at the cursor is due (0: now)."""
    return min(
        member_progress(state, step.name).retry_at or 0.0 for step in pending_members(saga, state)
    )


def member_progress(state: SagaState, name: str) -> MemberProgress:
    """A group member's progress (none yet: no attempt, nothing to wait for)."""
    return state.members.get(name) or _NOT_ATTEMPTED


_NOT_ATTEMPTED = MemberProgress()


def begin_wait(saga: Saga, state: SagaState, result: JSON, *, until: float) -> SagaState:
    """The step's action succeeded and the step now waits for its event until ``until``:
    the cursor stays, the action's result is kept for the compensation."""
    step = current_step(saga, state)
    return state.evolve(results={**state.results, step.name: result}, wait_until=until)


def end_wait(saga: Saga, state: SagaState, outcome: Outcome) -> SagaState:
    """The wait ended: with the step's result, or refused (a refusing event, no event in
    time). A refused step is compensated too: its action acted."""
    step = current_step(saga, state)
    waited = state.evolve(wait_until=None)
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return _advance(saga, waited, step, outcome.result)
    failure = _failure(step, Direction.FORWARD, outcome)
    return _begin_compensation(saga, waited, state.cursor, failure)


def retry_compensation(saga: Saga, state: SagaState) -> SagaState:
    """An operator's retry of a ``failed`` saga: resume at the compensation that gave up."""
    return state.evolve(
        status=SagaStatus.COMPENSATING, attempt_base=state.attempt, compensation_failure=None
    )


def _after_forward(saga: Saga, state: SagaState, outcome: Outcome, uniform: Uniform) -> Decision:
    step = current_step(saga, state)
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return Decision(state=_advance(saga, state, step, outcome.result))
    failure = _failure(step, Direction.FORWARD, outcome)
    if outcome.kind is OutcomeKind.REJECTED:
        first_to_undo = state.cursor if _earlier_attempt_unknown(state) else state.cursor - 1
        return Decision(state=_begin_compensation(saga, state, first_to_undo, failure))
    if _may_retry(step.retry, state.attempts_in_budget, outcome):
        delay = step.retry.delay_before(state.attempts_in_budget + 1, uniform=uniform)
        return Decision(state=state, retry_after=_wait(delay, outcome, step.retry))
    # Unknown outcome: the step may have happened, so it is compensated too.
    return Decision(state=_begin_compensation(saga, state, state.cursor, failure))


def _advance(saga: Saga, state: SagaState, step: Step, result: JSON) -> SagaState:
    return _advance_to(saga, state, state.cursor + 1, {**state.results, step.name: result})


def _advance_to(saga: Saga, state: SagaState, cursor: int, results: dict[str, JSON]) -> SagaState:
    status = SagaStatus.COMPLETED if cursor == len(saga.steps) else SagaStatus.RUNNING
    return state.evolve(
        status=status, cursor=cursor, attempt=0, attempt_base=0, results=results, members={}
    )


def _after_compensation(
    saga: Saga, state: SagaState, outcome: Outcome, uniform: Uniform
) -> Decision:
    step = current_step(saga, state)
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return Decision(state=_compensate_from(saga, state, state.cursor - 1))
    if _may_retry(step.compensation_retry, state.attempts_in_budget, outcome):
        delay = step.compensation_retry.delay_before(state.attempts_in_budget + 1, uniform=uniform)
        return Decision(state=state, retry_after=_wait(delay, outcome, step.compensation_retry))
    failure = _failure(step, Direction.COMPENSATE, outcome)
    return Decision(state=state.evolve(status=SagaStatus.FAILED, compensation_failure=failure))


def _wait(delay: timedelta, outcome: Outcome, policy: RetryPolicy) -> timedelta:
    """The policy's delay, or what the failure asked for if longer, up to the policy's
    longest interval: a participant cannot park a saga for longer than its owner allows."""
    if outcome.retry_after is None:
        return delay
    return max(delay, min(outcome.retry_after, policy.maximum_interval))


def _earlier_attempt_unknown(state: SagaState) -> bool:
    """Whether an attempt before the current one of this forward step may have acted.

    A refusal proves only that the refused attempt did nothing. Every earlier attempt
    at this cursor ended without success and without a refusal (either would have
    moved the saga on): it timed out, failed, or its process died, so its request may
    still be running at the participant and land after the refusal. Such a step is
    compensated like one whose retries ran out; its compensation is a no-op that
    leaves a tombstone when nothing happened, which also refuses the late request.
    """
    return state.attempt > 1


def _may_retry(policy: RetryPolicy, attempts_made: int, outcome: Outcome) -> bool:
    """Only errors that may pass are retried; a refusal or a fatal error would repeat."""
    retryable = outcome.kind in (OutcomeKind.FAILED, OutcomeKind.TIMED_OUT)
    return retryable and policy.allows_another_attempt(attempts_made)


def _begin_compensation(
    saga: Saga, state: SagaState, first_to_undo: int, failure: Failure
) -> SagaState:
    return _compensate_from(saga, state.evolve(failure=failure), first_to_undo)


def _compensate_from(saga: Saga, state: SagaState, index: int) -> SagaState:
    """Point the cursor at the highest step at or below ``index`` to undo: one with a
    compensation, and in a group, a member that was started (one never attempted did
    nothing)."""
    while index >= 0 and not _to_undo(saga.steps[index], state):
        index -= 1
    status = SagaStatus.COMPENSATING if index >= 0 else SagaStatus.COMPENSATED
    return state.evolve(status=status, cursor=max(index, 0), attempt=0, attempt_base=0)


def _to_undo(step: Step, state: SagaState) -> bool:
    if step.compensation is None:
        return False
    return step.group is None or member_started(state, step.name)


def _failure(step: Step, direction: Direction, outcome: Outcome) -> Failure:
    return Failure(
        step=step.name,
        direction=direction,
        error=outcome.error or outcome.kind.value,
        code=outcome.code or outcome.kind.value,
    )
