"""The executor against the in-memory store and a fake participant."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from sagakit import (
    AttemptStatus,
    Direction,
    InMemorySagaStore,
    InvalidTransition,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaState,
    SagaStatus,
    Step,
    idempotency_key,
)
from sagakit.state import AttemptStart
from tests.support.participants import (
    Behaviour,
    FakeClock,
    FakeParticipant,
    no_jitter,
    saga_over,
)

F, C = Direction.FORWARD, Direction.COMPENSATE
STEPS = ["payment", "inventory", "shipping"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def participant() -> FakeParticipant:
    return FakeParticipant()


@pytest.fixture
def store(clock: FakeClock) -> InMemorySagaStore:
    return InMemorySagaStore(clock=clock)


def engine_for(store: InMemorySagaStore, clock: FakeClock, *sagas: Saga) -> SagaEngine:
    return SagaEngine(store=store, sagas=sagas, clock=clock, sleep=clock.sleep, uniform=no_jitter)


async def stored_by_a_dead_process(
    store: InMemorySagaStore, engine: SagaEngine, saga: Saga
) -> SagaState:
    """A saga as ``start`` stores it (its first attempt begun) by a process that died
    before it called the first action."""
    new = engine.new_state(saga, input={})
    first = AttemptStart(
        saga_id=new.id,
        step=saga.steps[0].name,
        direction=Direction.FORWARD,
        attempt=1,
        idempotency_key=idempotency_key(new.id, saga.steps[0].name, Direction.FORWARD),
        started_at=new.created_at,
    )
    return await store.create(new.evolve(attempt=1), owner="dead", first_attempt=first)


async def test_runs_every_step_forward_once_and_completes(store, clock, participant):
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={"order": 1})

    assert state.status is SagaStatus.COMPLETED
    assert participant.called(state.id, F) == STEPS
    assert participant.called(state.id, C) == []
    assert set(state.results) == set(STEPS)


async def test_later_steps_see_earlier_results(store, clock, participant):
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.results["shipping"]["seen"] == ["inventory", "payment"]


@pytest.mark.parametrize("failing", range(3))
async def test_a_rejection_compensates_the_steps_before_it_in_reverse(
    store, clock, participant, failing
):
    participant.on(STEPS[failing], F, Behaviour.REJECT)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.called(state.id, F) == STEPS[: failing + 1]
    assert participant.called(state.id, C) == list(reversed(STEPS[:failing]))
    assert state.failure is not None
    assert (state.failure.step, state.failure.code) == (STEPS[failing], f"{STEPS[failing]}_refused")


@pytest.mark.parametrize("unknown", [Behaviour.HANG, Behaviour.FAIL, Behaviour.FAIL_AFTER_EFFECT])
async def test_a_refusal_after_an_attempt_with_unknown_outcome_compensates_the_refused_step_too(
    store, clock, participant, unknown
):
    # The first request may still be running at the participant (or have acted, its
    # answer lost), so the refusal of the second proves nothing about the first.
    participant.on("inventory", F, unknown, Behaviour.REJECT)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.called(state.id, C) == ["inventory", "payment"]
    assert state.failure is not None
    assert (state.failure.step, state.failure.code) == ("inventory", "inventory_refused")


async def test_a_refusal_after_the_first_attempt_was_interrupted_compensates_the_step_too(
    store, clock, participant
):
    participant.on("payment", F, Behaviour.REJECT)
    saga = saga_over(participant)
    started = await engine_for(store, clock, saga).start(saga, input={})
    clock.advance(store.lease_duration.total_seconds() + 1)  # its process died at once

    await engine_for(store, clock, saga).recover()

    state = await store.load(started.id)
    assert state is not None and state.status is SagaStatus.COMPENSATED
    assert participant.called(started.id, C) == ["payment"]
    statuses = [(a.direction, a.status) for a in await store.attempts(started.id)]
    assert statuses == [
        (F, AttemptStatus.INTERRUPTED),
        (F, AttemptStatus.REJECTED),
        (C, AttemptStatus.SUCCEEDED),
    ]


async def test_a_transient_failure_is_retried_with_the_same_key_then_succeeds(
    store, clock, participant
):
    participant.on("inventory", F, Behaviour.FAIL, Behaviour.FAIL_AFTER_EFFECT, Behaviour.OK)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert participant.keys_used(state.id, "inventory", F) == {f"{state.id}:inventory:forward"}
    assert participant.applied[f"{state.id}:inventory:forward"] == 1
    history = [a.status for a in await store.attempts(state.id) if a.step == "inventory"]
    assert history == [AttemptStatus.FAILED, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]


async def test_retries_wait_with_exponential_backoff(store, clock, participant):
    participant.on("payment", F, Behaviour.FAIL, Behaviour.FAIL, Behaviour.OK)
    saga = saga_over(participant)
    await engine_for(store, clock, saga).run(saga, input={})

    assert clock.slept == pytest.approx([0.001, 0.002])


async def test_exhausted_retries_compensate_the_step_too_because_its_outcome_is_unknown(
    store, clock, participant
):
    participant.on("inventory", F, Behaviour.FAIL_AFTER_EFFECT, Behaviour.FAIL, Behaviour.FAIL)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.called(state.id, C) == ["inventory", "payment"]
    assert state.failure is not None and state.failure.step == "inventory"


async def test_a_non_retryable_error_stops_at_once_and_compensates(store, clock, participant):
    class Broken(Exception):
        pass

    async def broken(_context):
        raise Broken("bad request built by the action")

    payment, inventory, shipping = saga_over(participant).steps
    policy = RetryPolicy(non_retryable_error_types=(Broken,))
    saga = Saga("checkout", 1, (payment, replace(inventory, action=broken, retry=policy), shipping))
    state = await engine_for(store, clock, saga).run(saga, input={})

    attempts = [a for a in await store.attempts(state.id) if a.step == "inventory"]
    assert [a.direction for a in attempts] == [F, C]
    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and "Broken" in state.failure.error


async def test_a_timed_out_step_is_compensated_as_if_it_happened(store, clock, participant):
    participant.on("shipping", F, Behaviour.HANG, Behaviour.HANG, Behaviour.HANG)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.called(state.id, C) == ["shipping", "inventory", "payment"]
    assert participant.seen_results[f"{state.id}:shipping:compensate"] is None
    last = [a for a in await store.attempts(state.id) if a.step == "shipping"][2]
    assert last.status is AttemptStatus.TIMED_OUT


async def test_a_compensation_receives_its_forward_result(store, clock, participant):
    participant.on("shipping", F, Behaviour.REJECT)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    seen = participant.seen_results[f"{state.id}:inventory:compensate"]
    assert seen == {"step": "inventory", "done": "forward", "seen": ["payment"]}


async def test_a_failing_compensation_is_retried_until_it_succeeds(store, clock, participant):
    participant.on("shipping", F, Behaviour.REJECT)
    participant.on("inventory", C, Behaviour.FAIL, Behaviour.FAIL_AFTER_EFFECT, Behaviour.OK)
    saga = saga_over(participant)
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert participant.applied[f"{state.id}:inventory:compensate"] == 1


async def test_an_exhausted_compensation_fails_the_saga_visibly_then_an_operator_retry_finishes_it(
    store, clock, participant
):
    participant.on("shipping", F, Behaviour.REJECT)
    participant.on("inventory", C, Behaviour.FAIL, Behaviour.FAIL, Behaviour.FAIL)
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    state = await engine.run(saga, input={})

    assert state.status is SagaStatus.FAILED
    assert state.compensation_failure is not None
    assert state.compensation_failure.step == "inventory"
    assert "unavailable" in state.compensation_failure.error
    assert participant.called(state.id, C) == ["inventory"]

    retried = await (await engine.retry(state.id)).result()

    assert retried.status is SagaStatus.COMPENSATED
    assert participant.called(state.id, C) == ["inventory", "payment"]
    assert retried.failure is not None and retried.failure.step == "shipping"


async def test_only_a_failed_saga_can_be_retried(store, clock, participant):
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    state = await engine.run(saga, input={})

    with pytest.raises(InvalidTransition):
        await engine.retry(state.id)


async def test_a_passed_deadline_stops_forward_progress_and_compensates(store, clock, participant):
    participant.on("inventory", F, Behaviour.FAIL, Behaviour.FAIL, Behaviour.OK)
    saga = saga_over(
        participant,
        deadline=timedelta(milliseconds=2),
        retry=RetryPolicy(
            initial_interval=timedelta(milliseconds=5), maximum_interval=timedelta(milliseconds=5)
        ),
    )
    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.code == "deadline_exceeded"
    assert participant.called(state.id, C) == ["inventory", "payment"]


async def test_an_operator_abort_compensates_a_running_saga(store, clock, participant):
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    started = await stored_by_a_dead_process(store, engine, saga)

    aborted = await (await engine.abort(started.id)).result()

    assert aborted.status is SagaStatus.COMPENSATED
    assert aborted.failure is not None and aborted.failure.code == "aborted"
    # ``start`` recorded the first attempt as begun; nobody can know whether it ran, so
    # only its compensation is sent (with its idempotency key), and no forward call.
    assert participant.called(started.id, F) == []
    assert participant.called(started.id, C) == ["payment"]


async def test_a_saga_finishes_on_the_version_it_started_on(store, clock, participant):
    v1 = saga_over(participant, steps=["payment", "inventory"], version=1)
    v2 = saga_over(participant, steps=["payment", "inventory", "shipping"], version=2)
    first = engine_for(store, clock, v1)
    started = await stored_by_a_dead_process(store, first, v1)

    clock.advance(60)
    second = engine_for(store, clock, v1, v2)
    await second.recover()

    finished = await store.load(started.id)
    assert finished is not None and finished.status is SagaStatus.COMPLETED
    assert participant.called(started.id, F) == ["payment", "inventory"]


async def test_concurrency_is_bounded(store, clock):
    running = 0
    peak = 0

    async def slow(_context):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return None

    saga = Saga("slow", 1, (Step("only", slow),))
    engine = SagaEngine(store=store, sagas=[saga], max_concurrency=3, clock=clock)
    sagas = [await engine.start(saga, input={}) for _ in range(10)]
    await asyncio.gather(*(handle.result() for handle in sagas))

    assert peak == 3


class RecordingObserver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def saga_started(self, state):
        self.seen.append(("started", state.status.value))

    def attempt_finished(self, state, start, end):
        self.seen.append(("attempt", f"{start.step}:{start.direction.value}:{end.status.value}"))

    def saga_settled(self, state):
        self.seen.append(("settled", state.status.value))

    def sagas_claimed(self, states):
        self.seen.append(("claimed", str(len(states))))

    def lease_lost(self, saga_id):
        self.seen.append(("lease_lost", saga_id))

    def saga_held(self, saga_id):
        self.seen.append(("held", saga_id))

    def saga_let_go(self, saga_id):
        self.seen.append(("let_go", saga_id))


async def test_an_observer_hears_every_attempt_and_the_outcome(store, clock, participant):
    participant.on("inventory", F, Behaviour.REJECT)
    observer = RecordingObserver()
    saga = saga_over(participant)
    engine = SagaEngine(
        store=store, sagas=[saga], clock=clock, sleep=clock.sleep, observer=observer
    )

    state = await engine.run(saga, input={})

    assert observer.seen == [
        ("started", "running"),
        ("held", state.id),
        ("attempt", "payment:forward:succeeded"),
        ("attempt", "inventory:forward:rejected"),
        ("attempt", "payment:compensate:succeeded"),
        ("settled", "compensated"),
        ("let_go", state.id),
    ]


async def test_an_operator_retry_is_recorded_with_its_actor(store, clock, participant):
    participant.on("shipping", F, Behaviour.REJECT)
    participant.on("inventory", C, Behaviour.FAIL, Behaviour.FAIL, Behaviour.FAIL)
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    failed = await engine.run(saga, input={})

    await (await engine.retry(failed.id, actor="bob")).result()

    [event] = await store.events(failed.id)
    assert (event.kind, event.actor) == ("retry", "bob")


async def test_a_started_saga_comes_back_with_its_whole_history_without_a_read(
    store, clock, participant
):
    participant.on("inventory", F, Behaviour.FAIL, Behaviour.OK)
    participant.on("shipping", F, Behaviour.REJECT)
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    started = await engine.start(saga, input={})
    state = await started.result()

    reads = store.attempts
    store.attempts = None  # type: ignore[assignment, method-assign]
    history = await started.history()
    store.attempts = reads  # type: ignore[method-assign]

    assert state.status is SagaStatus.COMPENSATED
    assert tuple(history) == tuple(await store.attempts(state.id))
    assert len(history) == 6  # payment, inventory twice, shipping, two compensations


async def test_a_handle_waits_for_a_saga_that_another_process_finishes(store, clock, participant):
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)
    started = await stored_by_a_dead_process(store, engine, saga)
    waiting = asyncio.create_task(engine.handle(started.id).result())
    await asyncio.sleep(0)
    assert not waiting.done()

    clock.advance(store.lease_duration.total_seconds() + 1)
    successor = engine_for(store, clock, saga)
    await successor.recover()

    async with asyncio.timeout(5):  # the waiter polls the store
        state = await waiting
    assert state.status is SagaStatus.COMPLETED
    assert await engine.handle(started.id).history() == await store.attempts(started.id)


async def test_waiting_for_a_result_that_times_out_leaves_the_saga_running(
    store, clock, participant
):
    participant.on("payment", F, Behaviour.HANG)
    saga = saga_over(participant, timeout=timedelta(seconds=1))
    engine = engine_for(store, clock, saga)
    started = await engine.start(saga, input={})

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await started.result()

    assert (await started.status()).status is SagaStatus.RUNNING
    await engine.close()


async def test_a_saga_backing_off_before_a_retry_is_loaded_as_waiting_until_then(
    store, clock, participant
):
    participant.on("inventory", F, Behaviour.FAIL, Behaviour.OK)
    patient = RetryPolicy(
        initial_interval=timedelta(seconds=60), maximum_interval=timedelta(seconds=60)
    )
    saga = saga_over(participant, retry=patient)
    engine = engine_for(store, clock, saga)
    parked = await engine.start(saga, input={})  # a minute is past half the lease: parked
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):  # nobody drives it until it is due
            await parked.result()

    waiting = await store.load(parked.id)
    assert waiting is not None and waiting.status is SagaStatus.RUNNING
    assert waiting.retry_at == pytest.approx(clock.now + 60, abs=1)

    clock.advance(61)
    due = await store.load(parked.id)
    assert due is not None and due.retry_at is None
    await engine.recover()
    done = await store.load(parked.id)
    assert done is not None and done.status is SagaStatus.COMPLETED and done.retry_at is None


async def test_a_forward_result_is_kept_once_in_the_saga_and_a_compensations_on_its_attempt(
    store, clock, participant
):
    participant.on("shipping", F, Behaviour.REJECT)
    saga = saga_over(participant)
    engine = engine_for(store, clock, saga)

    state = await engine.run(saga, input={})

    history = await store.attempts(state.id)
    forward = [a for a in history if a.direction is F and a.status.value == "succeeded"]
    undone = [a for a in history if a.direction is C]
    assert forward and all(a.result is None for a in forward)
    assert {a.step for a in forward} <= set(state.results)
    assert undone and all(a.result is not None for a in undone)
