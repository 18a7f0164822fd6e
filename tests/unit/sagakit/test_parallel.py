"""A ``Parallel`` group driven by the executor against the in-memory store: members side
by side, one failing for good, backing off, parked, and taken over after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from sagakit import (
    JSON,
    Action,
    AttemptStatus,
    Direction,
    InMemorySagaStore,
    Parallel,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaStatus,
    Step,
    StepContext,
)
from tests.support.participants import (
    FAST_RETRY,
    Behaviour,
    FakeClock,
    FakeParticipant,
    no_jitter,
)
from tests.unit.sagakit.test_executor import RecordingObserver

F, C = Direction.FORWARD, Direction.COMPENSATE
TIMEOUT = timedelta(seconds=1)
PATIENT = RetryPolicy(
    initial_interval=timedelta(seconds=60), maximum_interval=timedelta(seconds=600)
)
"""A minute's back-off: more than half the store's lease, so the saga parks for it."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def participant() -> FakeParticipant:
    return FakeParticipant()


@pytest.fixture
def store(clock: FakeClock) -> InMemorySagaStore:
    return InMemorySagaStore(clock=clock)


def engine_for(
    store: InMemorySagaStore, clock: FakeClock, saga: Saga, **options: object
) -> SagaEngine:
    settings: dict[str, object] = {"clock": clock, "sleep": clock.sleep, "uniform": no_jitter}
    return SagaEngine(store=store, sagas=[saga], **{**settings, **options})  # type: ignore[arg-type]


Before = Callable[[StepContext], Awaitable[None]]


def step(
    participant: FakeParticipant,
    name: str,
    *,
    before: Before | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> Step:
    """A step on the fake participant; ``before`` runs ahead of each forward call."""
    forward = participant.action(name, F)

    async def act(context: StepContext) -> JSON:
        if before is not None:
            await before(context)
        return await forward(context)

    action: Action = act if before else forward
    return Step(
        name,
        action,
        participant.action(name, C),
        retry=retry,
        compensation_retry=FAST_RETRY,
        timeout=TIMEOUT,
    )


def trip(participant: FakeParticipant, *, hotel: dict, car: dict, **options: object) -> Saga:
    return Saga(
        "trip",
        1,
        (
            step(participant, "pay"),
            Parallel(step(participant, "hotel", **hotel), step(participant, "car", **car)),
            step(participant, "ship"),
        ),
        **options,  # type: ignore[arg-type]
    )


def meeting(count: int) -> Before:
    """Each member's first call waits until ``count`` have been made: they overlap."""
    barrier = asyncio.Barrier(count)

    async def meet(context: StepContext) -> None:
        if context.attempt == 1:
            await barrier.wait()

    return meet


class BlockedAtFirst:
    """The first attempt never answers (its process dies first); later ones go on."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        """Set once the first attempt is in flight."""

    async def __call__(self, context: StepContext) -> None:
        if context.attempt == 1:
            self.entered.set()
            await asyncio.Event().wait()


async def test_members_run_side_by_side_and_the_saga_goes_on_past_the_group(
    store, clock, participant
):
    both = meeting(2)  # called one after the other, the first would wait for ever
    saga = trip(participant, hotel={"before": both}, car={"before": both})

    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert set(state.results) == {"pay", "hotel", "car", "ship"}
    history = [(a.step, a.attempt, a.status) for a in await store.attempts(state.id)]
    assert history == [
        ("pay", 1, AttemptStatus.SUCCEEDED),
        ("hotel", 1, AttemptStatus.SUCCEEDED),
        ("car", 1, AttemptStatus.SUCCEEDED),
        ("ship", 1, AttemptStatus.SUCCEEDED),
    ]


async def test_members_see_the_results_before_their_group_and_not_each_others(
    store, clock, participant
):
    saga = trip(participant, hotel={}, car={})

    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.results["hotel"]["seen"] == state.results["car"]["seen"] == ["pay"]
    assert state.results["ship"]["seen"] == ["car", "hotel", "pay"]


async def test_a_refusal_compensates_every_started_member_then_the_steps_before(
    store, clock, participant
):
    participant.on("hotel", F, Behaviour.REJECT)
    both = meeting(2)
    saga = trip(participant, hotel={"before": both}, car={"before": both})

    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.step == "hotel"
    assert participant.called(state.id, C) == ["car", "hotel", "pay"]
    assert "ship" not in participant.called(state.id, F)


async def test_a_member_in_flight_when_the_group_fails_is_awaited_and_undone_by_its_result(
    store, clock, participant
):
    participant.on("hotel", F, Behaviour.REJECT)
    both = meeting(2)
    saga = trip(participant, hotel={"before": both}, car={"before": both})

    state = await engine_for(store, clock, saga).run(saga, input={})

    car = [a for a in await store.attempts(state.id) if a.step == "car"]
    assert [(a.direction, a.status) for a in car] == [
        (F, AttemptStatus.SUCCEEDED),
        (C, AttemptStatus.SUCCEEDED),
    ]
    assert participant.seen_results[f"{state.id}:car:compensate"] == state.results["car"]


async def test_a_members_exhausted_retries_fail_the_group_and_undo_it_too(
    store, clock, participant
):
    participant.on("car", F, Behaviour.FAIL_AFTER_EFFECT, Behaviour.FAIL, Behaviour.FAIL)
    saga = trip(participant, hotel={}, car={})

    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.step == "car"
    assert participant.called(state.id, C) == ["car", "hotel", "pay"]
    assert participant.keys_used(state.id, "car", F) == {f"{state.id}:car:forward"}


async def test_a_member_that_fails_for_good_stops_the_others_backing_off(store, clock, participant):
    hotel_failed = asyncio.Event()

    async def hotel_fails_once(context: StepContext) -> None:
        if context.attempt == 1:
            hotel_failed.set()

    async def refuse_once_hotel_failed(context: StepContext) -> None:
        await hotel_failed.wait()

    async def never(_seconds: float) -> None:
        await asyncio.Event().wait()  # a back-off only the group's stop ends

    participant.on("hotel", F, Behaviour.FAIL, Behaviour.OK)
    participant.on("car", F, Behaviour.REJECT)
    saga = trip(
        participant,
        hotel={"before": hotel_fails_once},
        car={"before": refuse_once_hotel_failed},
    )

    async with asyncio.timeout(5):
        state = await engine_for(store, clock, saga, sleep=never).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert [c.attempt for c in participant.calls if (c.step, c.direction) == ("hotel", F)] == [1]
    assert participant.called(state.id, C) == ["car", "hotel", "pay"]


async def test_a_crash_mid_group_is_taken_over_with_the_same_keys_and_the_next_numbers(
    store, clock, participant
):
    car = BlockedAtFirst()
    saga = trip(participant, hotel={}, car={"before": car})
    dying = engine_for(store, clock, saga)
    started = await dying.start(saga, input={})
    await car.entered.wait()  # car's first attempt is in flight, hotel's done
    await dying.close()  # the process dies

    clock.advance(store.lease_duration.total_seconds() + 1)
    await engine_for(store, clock, saga).recover()

    state = await store.load(started.id)
    assert state is not None and state.status is SagaStatus.COMPLETED
    history = [(a.step, a.attempt, a.status) for a in await store.attempts(started.id)]
    assert history == [
        ("pay", 1, AttemptStatus.SUCCEEDED),
        ("hotel", 1, AttemptStatus.SUCCEEDED),
        ("car", 1, AttemptStatus.INTERRUPTED),
        ("car", 2, AttemptStatus.SUCCEEDED),
        ("ship", 1, AttemptStatus.SUCCEEDED),
    ]
    for member in ("hotel", "car"):
        assert participant.keys_used(started.id, member, F) == {f"{started.id}:{member}:forward"}
    assert all(count == 1 for count in participant.applied.values())


async def test_a_crash_while_every_member_is_in_flight_resumes_them_all(store, clock, participant):
    hotel, car = BlockedAtFirst(), BlockedAtFirst()
    saga = trip(participant, hotel={"before": hotel}, car={"before": car})
    dying = engine_for(store, clock, saga)
    started = await dying.start(saga, input={})
    await hotel.entered.wait()
    await car.entered.wait()
    await dying.close()

    clock.advance(store.lease_duration.total_seconds() + 1)
    await engine_for(store, clock, saga).recover()

    state = await store.load(started.id)
    assert state is not None and state.status is SagaStatus.COMPLETED
    members = [
        (a.step, a.attempt, a.status)
        for a in await store.attempts(started.id)
        if a.step in ("hotel", "car")
    ]
    assert sorted(members) == [
        ("car", 1, AttemptStatus.INTERRUPTED),
        ("car", 2, AttemptStatus.SUCCEEDED),
        ("hotel", 1, AttemptStatus.INTERRUPTED),
        ("hotel", 2, AttemptStatus.SUCCEEDED),
    ]


async def test_a_long_back_off_parks_the_saga_until_the_member_is_due(store, clock, participant):
    participant.on("hotel", F, Behaviour.FAIL, Behaviour.OK)
    saga = trip(participant, hotel={"retry": PATIENT}, car={})
    engine = engine_for(store, clock, saga)
    handle = await engine.start(saga, input={})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await handle.result()

    parked = await store.load(handle.id)
    assert parked is not None and parked.status is SagaStatus.RUNNING
    assert parked.retry_at == pytest.approx(clock.now + 60, abs=1)
    assert "car" in parked.results and await store.claim_due(owner="x", limit=1) == []

    clock.advance(61)
    await engine.recover()
    done = await store.load(handle.id)
    assert done is not None and done.status is SagaStatus.COMPLETED
    assert [c.step for c in participant.calls if c.direction is F].count("car") == 1


async def test_each_member_waits_for_its_own_retry_time_when_the_saga_is_resumed(
    store, clock, participant
):
    twice_as_patient = RetryPolicy(
        initial_interval=timedelta(seconds=120), maximum_interval=timedelta(seconds=600)
    )
    participant.on("hotel", F, Behaviour.FAIL, Behaviour.OK)
    participant.on("car", F, Behaviour.FAIL, Behaviour.OK)
    saga = trip(participant, hotel={"retry": PATIENT}, car={"retry": twice_as_patient})
    engine = engine_for(store, clock, saga)
    handle = await engine.start(saga, input={})
    await asyncio.sleep(0.05)  # both failed once; parked until hotel's minute

    clock.advance(61)
    await engine.recover()
    hotel_retried = await store.load(handle.id)
    clock.advance(60)
    await engine.recover()
    done = await store.load(handle.id)

    assert hotel_retried is not None and hotel_retried.status is SagaStatus.RUNNING
    assert "hotel" in hotel_retried.results and "car" not in hotel_retried.results
    assert done is not None and done.status is SagaStatus.COMPLETED


async def test_a_deadline_passing_while_a_member_backs_off_compensates_the_group(
    store, clock, participant
):
    participant.on("hotel", F, Behaviour.FAIL, Behaviour.FAIL, Behaviour.OK)
    slow = RetryPolicy(
        initial_interval=timedelta(milliseconds=5), maximum_interval=timedelta(milliseconds=5)
    )
    saga = trip(participant, hotel={"retry": slow}, car={}, deadline=timedelta(milliseconds=2))

    state = await engine_for(store, clock, saga).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.code == "deadline_exceeded"
    assert state.failure.step == "hotel+car"
    assert participant.called(state.id, C) == ["car", "hotel", "pay"]


async def test_an_abort_at_a_group_compensates_its_started_members(store, clock, participant):
    car = BlockedAtFirst()
    saga = trip(participant, hotel={}, car={"before": car})
    engine = engine_for(store, clock, saga)
    started = await engine.start(saga, input={})
    await car.entered.wait()

    aborted = await (await engine.abort(started.id)).result()

    assert aborted.status is SagaStatus.COMPENSATED
    assert aborted.failure is not None
    assert (aborted.failure.step, aborted.failure.code) == ("hotel+car", "aborted")
    assert participant.called(started.id, C) == ["car", "hotel", "pay"]
    await engine.close()


async def test_a_saga_that_begins_with_a_group_is_driven_from_its_creation(
    store, clock, participant
):
    saga = Saga("pair", 1, (Parallel(step(participant, "hotel"), step(participant, "car")),))
    engine = engine_for(store, clock, saga)

    handle = await engine.start(saga, input={})
    state = await handle.result()

    assert state.status is SagaStatus.COMPLETED
    assert tuple(await handle.history()) == tuple(await store.attempts(state.id))


async def test_the_history_comes_back_whole_in_the_order_the_attempts_began(
    store, clock, participant
):
    participant.on("car", F, Behaviour.FAIL, Behaviour.OK)
    participant.on("ship", F, Behaviour.REJECT)
    saga = trip(participant, hotel={}, car={})
    handle = await engine_for(store, clock, saga).start(saga, input={})
    await handle.result()

    reads = store.attempts
    store.attempts = None  # type: ignore[assignment, method-assign]
    history = await handle.history()
    store.attempts = reads  # type: ignore[method-assign]

    assert tuple(history) == tuple(await store.attempts(handle.id))


async def test_the_observer_hears_each_members_attempts_for_the_metrics(store, clock, participant):
    participant.on("car", F, Behaviour.FAIL, Behaviour.OK)
    observer = RecordingObserver()
    saga = trip(participant, hotel={}, car={})

    await engine_for(store, clock, saga, observer=observer).run(saga, input={})

    heard = sorted(detail for kind, detail in observer.seen if kind == "attempt")
    assert heard == [
        "car:forward:failed",
        "car:forward:succeeded",
        "hotel:forward:succeeded",
        "pay:forward:succeeded",
        "ship:forward:succeeded",
    ]


class Dropped(Exception):
    """The connection dropped after the database committed: the writer cannot know."""


class DroppingStore(InMemorySagaStore):
    """Commits each member's first begin, then fails it the first time."""

    dropped = False

    async def begin_attempt(self, state, start, **options):  # type: ignore[no-untyped-def]
        await super().begin_attempt(state, start, **options)
        if not self.dropped and start.step in ("hotel", "car"):
            self.dropped = True
            await asyncio.sleep(0)
            raise Dropped(start.step)


async def test_after_a_write_fails_no_other_member_writes_over_what_it_missed(clock, participant):
    store = DroppingStore(clock=clock)
    saga = trip(participant, hotel={}, car={})
    engine = engine_for(store, clock, saga)
    handle = await engine.start(saga, input={})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await handle.result()  # let go: recovered once its lease expires

    clock.advance(store.lease_duration.total_seconds() + 1)
    await engine.recover()

    state = await store.load(handle.id)
    assert state is not None and state.status is SagaStatus.COMPLETED
    hotel = [(a.attempt, a.status) for a in await store.attempts(handle.id) if a.step == "hotel"]
    assert hotel == [(1, AttemptStatus.INTERRUPTED), (2, AttemptStatus.SUCCEEDED)]
