"""Calling one action, bounded by its step's timeout, and saying what happened.

The classification is the engine's error contract (see ``sagakit.errors``): a refusal,
an error that may pass, a timeout, or an error the policy says not to retry.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sagakit.definition import JSON, Direction, Saga, Step, StepContext, idempotency_key
from sagakit.errors import OutcomeUnknown, StepRejected
from sagakit.progress import Outcome, OutcomeKind
from sagakit.state import (
    AttemptEnd,
    AttemptStart,
    AttemptStatus,
    SagaState,
    Signal,
    SignalKind,
)

ATTEMPT_STATUS = {
    OutcomeKind.SUCCEEDED: AttemptStatus.SUCCEEDED,
    OutcomeKind.REJECTED: AttemptStatus.REJECTED,
    OutcomeKind.FAILED: AttemptStatus.FAILED,
    OutcomeKind.FATAL: AttemptStatus.FAILED,
    OutcomeKind.TIMED_OUT: AttemptStatus.TIMED_OUT,
}


def attempt_end(start: AttemptStart, outcome: Outcome, *, finished_at: float) -> AttemptEnd:
    """What the log keeps of an attempt's outcome. A forward step's result is kept once,
    in the saga's results (its attempt row would copy it, doubling the bytes of every
    step); a compensation's is kept on its attempt, its only record."""
    forward = start.direction is Direction.FORWARD
    return AttemptEnd(
        status=ATTEMPT_STATUS[outcome.kind],
        finished_at=finished_at,
        result=None if forward else outcome.result,
        error=outcome.error,
    )


async def invoke(saga: Saga, state: SagaState, start: AttemptStart, deps: Any) -> Outcome:
    """Call the action of ``start``'s step (a group's member, or the step at the cursor)."""
    step = saga.steps[saga.step_index[start.step]]
    forward = start.direction is Direction.FORWARD
    action = step.action if forward else step.compensation
    assert action is not None, "the cursor never rests on a step without compensation"
    context: StepContext[Any, Any] = StepContext(
        saga_id=state.id,
        saga_name=state.name,
        step=step.name,
        direction=start.direction,
        idempotency_key=start.idempotency_key,
        attempt=start.attempt,
        input=saga.action_input(state.input),
        results=_seen(saga, state, step) if forward else state.results,
        deps=deps,
        result=None if forward else state.results.get(step.name),
        forward_known=not forward and step.name in state.results,
        forward_key=None if forward else idempotency_key(state.id, step.name, Direction.FORWARD),
        key_issued_at=state.created_at,
        deadline=start.started_at + step.timeout.total_seconds(),
    )
    try:
        async with asyncio.timeout(step.timeout.total_seconds()):
            result = await action(context)
    except TimeoutError:
        seconds = step.timeout.total_seconds()
        return Outcome(kind=OutcomeKind.TIMED_OUT, error=f"no answer within {seconds:g}s")
    except StepRejected as rejected:
        return Outcome(kind=OutcomeKind.REJECTED, error=str(rejected), code=rejected.code)
    except OutcomeUnknown as unknown:
        # Forward, another attempt under the same key would be refused the same way;
        # a compensation's next attempt carries a new deadline.
        kind = OutcomeKind.FATAL if forward else OutcomeKind.FAILED
        return Outcome(kind=kind, error=str(unknown), code=unknown.code)
    except Exception as error:
        policy = step.retry if forward else step.compensation_retry
        described = f"{type(error).__name__}: {error}"
        if policy.is_refusal(error):
            code = getattr(error, "code", None)
            return Outcome(
                kind=OutcomeKind.REJECTED,
                error=described,
                code=code if isinstance(code, str) else "rejected",
            )
        kind = OutcomeKind.FAILED if policy.is_retryable(error) else OutcomeKind.FATAL
        wait = policy.wait_asked(error)
        return Outcome(
            kind=kind, error=described, retry_after=wait if isinstance(wait, timedelta) else None
        )
    try:
        json.dumps(result)
    except (TypeError, ValueError) as error:
        return Outcome(
            kind=OutcomeKind.FATAL,
            code="result_not_json",
            error=f"the action's result is not JSON-serialisable: {error}",
        )
    return Outcome(kind=OutcomeKind.SUCCEEDED, result=result)


def _seen(saga: Saga, state: SagaState, step: Step) -> dict[str, JSON]:
    """The results a forward action sees: a group's member sees those of the steps
    before its group, never its fellow members' (which may or may not be in yet), so
    every attempt of it is called alike."""
    if step.group is None:
        return state.results
    before = {s.name for s in saga.steps[: saga.spans[saga.step_index[step.name]].start]}
    return {name: result for name, result in state.results.items() if name in before}


def hear(saga: Saga, state: SagaState, signal: Signal, deps: Any) -> Outcome:
    """What the signal that ended the step's wait means: the step's result, or a refusal.

    No event in time is a refusal (``event_timeout``). An event goes through the wait's
    ``on_event``, if any, which returns the step's result or raises ``StepRejected``;
    without one the action's result stands.
    """
    step = saga.steps[state.cursor]
    wait = step.wait
    assert wait is not None, "only a waiting step hears a signal"
    action_result = state.results.get(step.name)
    if signal.kind is SignalKind.TIMEOUT and wait.timer:
        return Outcome(kind=OutcomeKind.SUCCEEDED, result=action_result)
    if signal.kind is SignalKind.TIMEOUT:
        return Outcome(
            kind=OutcomeKind.REJECTED,
            code="event_timeout",
            error=f"no {wait.event!r} event before the wait ran out",
        )
    if wait.on_event is None:
        return Outcome(kind=OutcomeKind.SUCCEEDED, result=action_result)
    context = waiting_context(saga, state, deps)
    try:
        result = wait.on_event(context, signal.payload)
        json.dumps(result)
    except StepRejected as rejected:
        return Outcome(kind=OutcomeKind.REJECTED, error=str(rejected), code=rejected.code)
    except Exception as error:  # a bug in on_event: the step cannot go on
        return Outcome(
            kind=OutcomeKind.FATAL,
            code="event_not_understood",
            error=f"on_event({wait.event!r}) raised {type(error).__name__}: {error}",
        )
    return Outcome(kind=OutcomeKind.SUCCEEDED, result=result)


def waiting_context(saga: Saga, state: SagaState, deps: Any) -> StepContext[Any, Any]:
    """The context of a step whose action succeeded and that waits (or is about to):
    ``result`` is the action's."""
    step = saga.steps[state.cursor]
    return StepContext(
        saga_id=state.id,
        saga_name=state.name,
        step=step.name,
        direction=Direction.FORWARD,
        idempotency_key=idempotency_key(state.id, step.name, Direction.FORWARD),
        attempt=state.attempt,
        input=saga.action_input(state.input),
        results=state.results,
        deps=deps,
        result=state.results.get(step.name),
        forward_known=True,
    )
