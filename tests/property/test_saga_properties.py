"""Properties that hold for every saga shape and every schedule of failures."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagakit import (
    Direction,
    InMemorySagaStore,
    Parallel,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaStatus,
    Step,
)
from tests.support.participants import Behaviour, FakeClock, FakeParticipant, no_jitter

F, C = Direction.FORWARD, Direction.COMPENSATE
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=1),
    maximum_interval=timedelta(milliseconds=1),
    maximum_attempts=3,
)
FORWARD_BEHAVIOURS = st.sampled_from(list(Behaviour))
COMPENSATION_BEHAVIOURS = st.sampled_from(
    [Behaviour.OK, Behaviour.FAIL, Behaviour.FAIL_AFTER_EFFECT, Behaviour.HANG]
)


@st.composite
def saga_shapes(draw: st.DrawFn) -> tuple[list[tuple[str, bool]], FakeParticipant]:
    """Steps (name, has a compensation) and a participant scripted to fail at random."""
    count = draw(st.integers(min_value=1, max_value=5))
    steps = [(f"s{i}", draw(st.booleans()) or i == 0) for i in range(count)]
    participant = FakeParticipant()
    for name, _ in steps:
        participant.on(name, F, *draw(st.lists(FORWARD_BEHAVIOURS, max_size=4)))
        participant.on(name, C, *draw(st.lists(COMPENSATION_BEHAVIOURS, max_size=4)))
    return steps, participant


def build(steps: list[tuple[str, bool]], participant: FakeParticipant) -> Saga:
    return Saga(
        "shape",
        1,
        tuple(
            Step(
                name,
                participant.action(name, F),
                participant.action(name, C) if compensated else None,
                retry=RETRY,
                compensation_retry=RETRY,
                timeout=timedelta(milliseconds=5),
            )
            for name, compensated in steps
        ),
    )


def started_forward_steps(participant: FakeParticipant, saga_id: str) -> list[str]:
    """Forward steps that may have taken effect: any call of them not answered with a
    refusal (a refusal after a timeout or an error proves nothing about the earlier
    call, which may still land)."""
    started: list[str] = []
    for call in participant.calls:
        if call.direction is F and call.saga_id == saga_id:
            script = participant.script.get((call.step, F), [])
            index = call.attempt - 1
            answer = script[index] if index < len(script) else Behaviour.OK
            if answer is not Behaviour.REJECT and call.step not in started:
                started.append(call.step)
    return started


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=saga_shapes())
async def test_every_saga_ends_terminal_and_compensates_exactly_what_started(shape):
    steps, participant = shape
    saga = build(steps, participant)
    clock = FakeClock()
    engine = SagaEngine(
        store=InMemorySagaStore(clock=clock),
        sagas=[saga],
        clock=clock,
        sleep=clock.sleep,
        uniform=no_jitter,
    )

    state = await engine.run(saga, input={})

    assert state.status.is_terminal
    compensable = {name for name, compensated in steps if compensated}
    expected = [
        s for s in reversed(started_forward_steps(participant, state.id)) if s in compensable
    ]
    compensated = participant.called(state.id, C)
    if state.status is SagaStatus.COMPLETED:
        assert participant.called(state.id, F) == [name for name, _ in steps]
        assert compensated == []
    elif state.status is SagaStatus.COMPENSATED:
        assert compensated == expected
    else:
        assert state.status is SagaStatus.FAILED
        assert compensated == expected[: len(compensated)]
        assert state.compensation_failure is not None
        assert state.compensation_failure.step == compensated[-1]
    for name, _ in steps:
        for direction in (F, C):
            assert len(participant.keys_used(state.id, name, direction)) <= 1
    assert all(count == 1 for count in participant.applied.values())


@st.composite
def grouped_shapes(draw: st.DrawFn) -> tuple[list[list[tuple[str, bool]]], FakeParticipant]:
    """Steps before a group of two or three members and steps after, each alone or in
    the group (a list of more than one), with a participant failing at random."""
    before = [[(f"b{i}", draw(st.booleans()))] for i in range(draw(st.integers(0, 2)))]
    group = [(f"m{i}", draw(st.booleans())) for i in range(draw(st.integers(2, 3)))]
    after = [[(f"a{i}", draw(st.booleans()))] for i in range(draw(st.integers(0, 2)))]
    parts = [*before, group, *after]
    participant = FakeParticipant()
    for part in parts:
        for name, _ in part:
            participant.on(name, F, *draw(st.lists(FORWARD_BEHAVIOURS, max_size=4)))
            participant.on(name, C, *draw(st.lists(COMPENSATION_BEHAVIOURS, max_size=4)))
    return parts, participant


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=grouped_shapes())
async def test_a_group_compensates_every_attempted_member_and_what_started_before_it(shape):
    parts, participant = shape
    steps = [build(part, participant).steps for part in parts]
    saga = Saga("grouped", 1, [Parallel(*s) if len(s) > 1 else s[0] for s in steps])
    clock = FakeClock()
    engine = SagaEngine(
        store=InMemorySagaStore(clock=clock),
        sagas=[saga],
        clock=clock,
        sleep=clock.sleep,
        uniform=no_jitter,
    )

    state = await engine.run(saga, input={})

    assert state.status.is_terminal
    members = {name for name, _ in next(part for part in parts if len(part) > 1)}
    attempted = {c.step for c in participant.calls if c.direction is F} & members
    started = set(started_forward_steps(participant, state.id)) | attempted
    compensable = {name for part in parts for name, compensated in part if compensated}
    expected = [s.name for s in reversed(saga.steps) if s.name in started & compensable]
    compensated = participant.called(state.id, C)
    if state.status is SagaStatus.COMPLETED:
        assert participant.called(state.id, F) != [] and compensated == []
        assert set(state.results) == {s.name for s in saga.steps}
    elif state.status is SagaStatus.COMPENSATED:
        assert compensated == expected
    else:
        assert compensated == expected[: len(compensated)]
    for step in saga.steps:
        for direction in (F, C):
            assert len(participant.keys_used(state.id, step.name, direction)) <= 1
    assert all(count == 1 for count in participant.applied.values())
