"""A participant that will not act because a request came too late: the engine tells
it when each key was issued and when each attempt times out, and takes its 410 as an
unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sagakit import (
    JSON,
    InMemorySagaStore,
    OutcomeUnknown,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaStatus,
    Step,
    StepContext,
)

FAST = RetryPolicy(initial_interval=timedelta(milliseconds=1), maximum_attempts=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Participant:
    calls: list[str] = field(default_factory=list)
    contexts: list[StepContext[object, object]] = field(default_factory=list)
    late_compensations: int = 0

    async def act(self, context: StepContext[object, object]) -> JSON:
        self.calls.append(f"{context.step} {context.direction.value}")
        self.contexts.append(context)
        if context.step == "reserve":
            raise OutcomeUnknown("410: key older than kept", code="key_expired")
        return {"done": context.step}

    async def undo(self, context: StepContext[object, object]) -> JSON:
        self.calls.append(f"{context.step} {context.direction.value}")
        if self.late_compensations:
            self.late_compensations -= 1
            raise OutcomeUnknown("410: past its deadline", code="request_expired")
        return None


def saga_over(participant: Participant) -> Saga:
    return Saga(
        name="order",
        version=1,
        steps=(
            Step(
                "pay",
                participant.act,
                compensation=participant.undo,
                retry=FAST,
                compensation_retry=FAST,
                timeout=timedelta(seconds=5),
            ),
            Step(
                "reserve",
                participant.act,
                compensation=participant.undo,
                retry=FAST,
                compensation_retry=FAST,
            ),
        ),
    )


async def test_a_forward_step_too_late_to_act_is_compensated_at_once_not_retried():
    participant = Participant()
    clock = Clock()
    saga = saga_over(participant)
    engine = SagaEngine(store=InMemorySagaStore(clock=clock), sagas=[saga], clock=clock)

    state = await engine.run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.code == "key_expired"
    assert participant.calls == [
        "pay forward",
        "reserve forward",  # once: the same key would be refused again
        "reserve compensate",  # it may have acted under an earlier request
        "pay compensate",
    ]


async def test_a_compensation_too_late_to_act_is_tried_again_with_a_new_deadline():
    participant = Participant(late_compensations=1)
    clock = Clock()
    saga = saga_over(participant)
    engine = SagaEngine(store=InMemorySagaStore(clock=clock), sagas=[saga], clock=clock)

    state = await engine.run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.calls.count("reserve compensate") == 2


async def test_every_call_carries_when_its_saga_started_and_when_the_attempt_times_out():
    participant = Participant()
    clock = Clock()
    saga = saga_over(participant)
    engine = SagaEngine(store=InMemorySagaStore(clock=clock), sagas=[saga], clock=clock)

    state = await engine.run(saga, input={})

    pay = participant.contexts[0]
    assert pay.key_issued_at == state.created_at == 1_000.0
    assert pay.deadline == 1_005.0  # the attempt began at 1,000 with a 5 s timeout
