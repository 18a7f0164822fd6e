"""Steps that wait for an event: sent in time, early, twice, too late, never, or
refused; and the saga aborted, or past its deadline, while it waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from sagakit import (
    JSON,
    Await,
    EventRefused,
    InMemorySagaStore,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaNotFound,
    SagaStatus,
    Signal,
    SignalKind,
    Step,
    StepContext,
    StepRejected,
    delay,
)
from sagakit.state import SagaState

WAIT = timedelta(minutes=15)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


@dataclass
class Bank:
    """What the actions did, in order."""

    calls: list[str] = field(default_factory=list)


async def challenge(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    context.deps.calls.append("challenge")
    return {"challenge": f"ch-{context.saga_id[:4]}"}


async def void(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    context.deps.calls.append(f"void {context.result}")
    return None


async def ship(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    context.deps.calls.append("ship")
    return {"parcel": "p-1"}


def confirmed(context: StepContext[Bank, Mapping[str, JSON]], payload: JSON) -> JSON:
    if payload.get("outcome") != "confirmed":
        raise StepRejected("the customer did not confirm", code="not_confirmed")
    return {**context.result, "confirmed": True}


PAY = Saga(
    name="pay",
    version=1,
    steps=(
        Step(
            "payment",
            challenge,
            compensation=void,
            wait=Await(event="confirmation", timeout=WAIT, on_event=confirmed),
        ),
        Step("shipping", ship),
    ),
)


@dataclass
class World:
    clock: Clock
    store: InMemorySagaStore
    bank: Bank

    def engine(self, saga: Saga = PAY) -> SagaEngine:
        return SagaEngine(
            store=self.store, sagas=[saga], deps=self.bank, clock=self.clock, max_concurrency=8
        )


@pytest.fixture
def world() -> World:
    clock = Clock()
    return World(clock, InMemorySagaStore(clock=clock), Bank())


async def parked(
    engine: SagaEngine, saga: Saga = PAY, input: Mapping[str, JSON] | None = None
) -> SagaState:
    """A saga started and come to rest waiting for its event."""
    handle = await engine.start(saga, input=input or {"order": "o-1"})
    for _ in range(1000):  # the in-memory store never blocks: a few turns of the loop
        state = await handle.status()
        if state.retry_at is not None:  # due later: parked
            break
        await asyncio.sleep(0)
    await engine.close()
    assert state.status is SagaStatus.RUNNING and state.wait_until is not None
    assert state.retry_at == state.wait_until or state.retry_at == state.deadline_at
    return state


async def test_a_waiting_saga_holds_no_lease_and_goes_on_when_its_event_comes(world: World):
    engine = world.engine()
    state = await parked(engine)
    assert await world.store.claim(state.id, owner="anyone") is not None  # nobody held it
    world.clock.advance(timedelta(seconds=31))  # that claim's lease runs out

    delivery = await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    done = await engine.handle(state.id).result()

    assert delivery.recorded
    assert done.status is SagaStatus.COMPLETED
    assert done.results["payment"] == {"challenge": f"ch-{state.id[:4]}", "confirmed": True}
    assert world.bank.calls == ["challenge", "ship"]
    [heard] = await world.store.events(state.id)
    assert (heard.kind, heard.actor, heard.detail) == ("event", "sender", "confirmation: accepted")


async def test_an_event_sent_before_the_step_waits_is_kept_for_it(world: World):
    engine = world.engine()
    handle = await engine.start(PAY, input={"order": "o-1"})
    await engine.send(handle.id, "confirmation", {"outcome": "confirmed"})  # before it parks

    done = await handle.result()

    assert done.status is SagaStatus.COMPLETED


async def test_no_event_in_time_compensates_the_step_whose_action_acted(world: World):
    engine = world.engine()
    state = await parked(engine)

    world.clock.advance(WAIT)
    assert await engine.recover() == 1
    done = await engine.handle(state.id).result()

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "event_timeout"
    assert world.bank.calls == ["challenge", f"void {{'challenge': 'ch-{state.id[:4]}'}}"]
    with pytest.raises(EventRefused) as late:
        await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    assert late.value.code == "timed_out"


async def test_an_event_that_finds_the_timeout_recorded_is_refused_as_too_late(world: World):
    """The engine died after recording the timeout and before acting on it."""
    engine = world.engine()
    state = await parked(engine)
    world.clock.advance(WAIT)
    timed_out = Signal(
        saga_id=state.id, name="confirmation", kind=SignalKind.TIMEOUT, key="timeout", at=0.0
    )
    await world.store.deliver(timed_out)

    with pytest.raises(EventRefused) as late:
        await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    await engine.recover()
    done = await engine.handle(state.id).result()

    assert late.value.code == "timed_out"
    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "event_timeout"


async def test_the_same_event_twice_counts_once_and_another_is_refused(world: World):
    engine = world.engine()
    state = await parked(engine)
    world.clock.advance(timedelta(seconds=31))

    first = await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    again = await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    with pytest.raises(EventRefused) as other:
        await engine.send(state.id, "confirmation", {"outcome": "declined"})
    done = await engine.handle(state.id).result()

    assert first.recorded and not again.recorded
    assert other.value.code == "another_event"
    assert done.status is SagaStatus.COMPLETED
    assert world.bank.calls == ["challenge", "ship"]
    assert len(await world.store.events(state.id)) == 1


async def test_a_sender_key_tells_a_duplicate_from_another_event(world: World):
    engine = world.engine()
    state = await parked(engine)

    first = await engine.send(state.id, "confirmation", {"outcome": "confirmed", "n": 1}, key="w1")
    again = await engine.send(state.id, "confirmation", {"outcome": "confirmed", "n": 2}, key="w1")

    assert first.recorded and not again.recorded


async def test_a_refusing_event_compensates_the_step(world: World):
    engine = world.engine()
    state = await parked(engine)
    world.clock.advance(timedelta(seconds=31))

    await engine.send(state.id, "confirmation", {"outcome": "declined"})
    done = await engine.handle(state.id).result()

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "not_confirmed"
    assert world.bank.calls[-1].startswith("void ")


async def test_events_the_saga_never_waits_for_or_for_no_saga_are_refused(world: World):
    engine = world.engine()
    state = await parked(engine)

    with pytest.raises(EventRefused) as unknown:
        await engine.send(state.id, "refund", {})
    with pytest.raises(SagaNotFound):
        await engine.send("no-such-saga", "confirmation", {})

    assert unknown.value.code == "not_awaited"


async def test_an_abort_while_waiting_compensates_the_waiting_step(world: World):
    engine = world.engine()
    state = await parked(engine)

    aborted = await (await engine.abort(state.id, reason="customer called")).result()

    assert aborted.status is SagaStatus.COMPENSATED and aborted.wait_until is None
    assert world.bank.calls[-1].startswith("void ")


async def test_the_sagas_deadline_ends_a_wait_that_would_outlast_it(world: World):
    short = Saga(name="pay", version=1, steps=PAY.steps, deadline=timedelta(minutes=5))
    engine = world.engine(short)
    state = await parked(engine, short)

    world.clock.advance(timedelta(minutes=5))
    assert await engine.recover() == 1  # due at the deadline, not at the end of the wait
    done = await engine.handle(state.id).result()

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "deadline_exceeded"


class RacingStore(InMemorySagaStore):
    """Delivers the event just after the engine found none and before it parks: the
    sender's wake-up is then undone by the park, and its claim finds the saga held."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.race: Signal | None = None

    async def signal(self, saga_id: str, name: str) -> Signal | None:
        found = await super().signal(saga_id, name)
        if found is None and self.race is not None:
            race, self.race = self.race, None
            await self.deliver(race)
        return found


async def test_an_event_recorded_while_the_saga_parks_is_not_left_for_the_timeout():
    clock = Clock()
    store = RacingStore(clock)
    engine = SagaEngine(store=store, sagas=[PAY], deps=Bank(), clock=clock)
    handle = await engine.start(PAY, input={"order": "o-1"})
    store.race = Signal(
        saga_id=handle.id,
        name="confirmation",
        kind=SignalKind.EVENT,
        key="k",
        payload={"outcome": "confirmed"},
        at=clock.now,
    )

    # The clock stands still: a saga left for its timeout would never end, and the
    # bound turns that into a failure.
    async with asyncio.timeout(30):
        done = await handle.result()

    assert done.status is SagaStatus.COMPLETED


def test_a_saga_cannot_wait_twice_for_one_event():
    wait = Await(event="confirmation", timeout=WAIT)
    with pytest.raises(ValueError, match="waits twice"):
        Saga("twice", 1, (Step("a", challenge, wait=wait), Step("b", challenge, wait=wait)))


@dataclass
class Settings:
    confirmation: timedelta
    calls: list[str] = field(default_factory=list)


async def card(context: StepContext[Settings, Mapping[str, JSON]]) -> JSON:
    return {"challenge": "ch-1" if context.input["3ds"] else None}


CARD = Saga(
    name="card",
    version=1,
    steps=(
        Step(
            "payment",
            card,
            compensation=void,
            wait=Await(
                event="confirmation",
                timeout=lambda context: context.deps.confirmation,
                when=lambda result: result["challenge"] is not None,
            ),
        ),
    ),
)


async def test_a_run_whose_action_needs_no_event_does_not_wait():
    engine = SagaEngine(store=InMemorySagaStore(), sagas=[CARD], deps=Settings(WAIT))

    done = await engine.run(CARD, input={"3ds": False})

    assert done.status is SagaStatus.COMPLETED and done.wait_until is None


async def test_the_wait_can_take_its_length_from_the_deps_when_it_begins(world: World):
    engine = SagaEngine(
        store=world.store, sagas=[CARD], deps=Settings(timedelta(minutes=3)), clock=world.clock
    )

    state = await parked(engine, CARD, {"3ds": True})

    assert state.wait_until == world.clock.now + timedelta(minutes=3).total_seconds()


async def test_a_wait_length_that_cannot_be_read_fails_the_step_and_compensates(world: World):
    engine = SagaEngine(
        store=world.store, sagas=[CARD], deps=Settings(timedelta(0)), clock=world.clock
    )

    done = await engine.run(CARD, input={"3ds": True})

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "wait_not_understood"


async def remind(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    context.deps.calls.append("remind")
    return None


NUDGE = Saga(
    name="nudge",
    version=1,
    steps=(
        Step("order", challenge, compensation=void),
        delay("cool_off", timedelta(days=1)),
        Step("remind", remind),
    ),
)


async def test_a_delay_parks_the_saga_until_it_has_passed_then_goes_on(world: World):
    engine = world.engine(NUDGE)
    state = await parked(engine, NUDGE)
    assert state.wait_until == world.clock.now + timedelta(days=1).total_seconds()

    world.clock.advance(timedelta(hours=23))
    assert await engine.recover() == 0
    world.clock.advance(timedelta(hours=1))
    assert await engine.recover() == 1
    done = await engine.handle(state.id).result()

    assert done.status is SagaStatus.COMPLETED
    assert world.bank.calls == ["challenge", "remind"]
    [passed] = await world.store.events(state.id)
    assert (passed.kind, passed.detail) == ("timeout", "cool_off.timer: the delay passed")


async def test_a_delay_takes_no_event(world: World):
    engine = world.engine(NUDGE)
    state = await parked(engine, NUDGE)

    with pytest.raises(EventRefused) as refused:
        await engine.send(state.id, "cool_off.timer", {})

    assert refused.value.code == "not_awaited"


async def test_an_abort_during_a_delay_compensates_the_steps_before_it(world: World):
    engine = world.engine(NUDGE)
    state = await parked(engine, NUDGE)

    done = await (await engine.abort(state.id)).result()

    assert done.status is SagaStatus.COMPENSATED
    assert world.bank.calls[-1].startswith("void ")


async def test_a_handle_rests_when_the_saga_ends_or_parks(world: World):
    engine = world.engine()
    handle = await engine.start(PAY, input={"order": "o-1"})

    rested = await handle.rest()
    elsewhere = await engine.handle(handle.id).rest()

    assert rested.status is SagaStatus.RUNNING and rested.wait_until is not None
    assert elsewhere == await handle.status()


async def down(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    raise ConnectionError("the bank is down")


PATIENT = RetryPolicy(
    initial_interval=timedelta(minutes=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=None,
    jitter=0,
)
DEADLINED = Saga(
    name="deadlined",
    version=1,
    steps=(Step("order", challenge, compensation=void), Step("bank", down, retry=PATIENT)),
    deadline=timedelta(seconds=90),
)


async def test_a_saga_backing_off_is_due_at_its_deadline_not_after_its_retry(world: World):
    engine = world.engine(DEADLINED)
    handle = await engine.start(DEADLINED, input={})
    await handle.rest()  # parked after the first failure, for a minute
    world.clock.advance(timedelta(seconds=60))
    assert await engine.recover() == 1
    await engine.handle(handle.id).rest()  # failed again: a minute more, past the deadline

    world.clock.advance(timedelta(seconds=30))  # the deadline, not the retry
    assert await engine.recover() == 1
    done = await engine.handle(handle.id).result()

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "deadline_exceeded"
    assert world.bank.calls[-1].startswith("void ")


async def test_a_duplicate_after_the_saga_moved_on_is_still_a_duplicate(world: World):
    engine = world.engine()
    state = await parked(engine)
    world.clock.advance(timedelta(seconds=31))
    await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    await engine.handle(state.id).result()

    again = await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    with pytest.raises(EventRefused) as other:
        await engine.send(state.id, "confirmation", {"outcome": "declined"})

    assert not again.recorded
    assert other.value.code == "another_event"


async def test_a_first_event_for_a_saga_that_moved_on_is_refused(world: World):
    engine = world.engine()
    state = await parked(engine)

    await (await engine.abort(state.id)).result()
    with pytest.raises(EventRefused) as late:
        await engine.send(state.id, "confirmation", {"outcome": "confirmed"})

    assert late.value.code == "not_running"


async def test_a_deadline_read_from_the_deps_is_fixed_when_the_saga_starts(world: World):
    @dataclass
    class Patience:
        deadline: timedelta

    patience = Patience(timedelta(minutes=2))
    timed = Saga(name="timed", version=1, steps=PAY.steps, deadline=lambda deps: deps.deadline)
    engine = SagaEngine(store=world.store, sagas=[timed], deps=patience, clock=world.clock)

    handle = await engine.start(timed, input={})
    patience.deadline = timedelta(hours=5)  # a later change moves no saga's deadline
    state = await handle.status()
    await engine.close()

    assert state.deadline_at == world.clock.now + 120


class AnHourAhead(InMemorySagaStore):
    """A store whose clock is an hour ahead of this process's."""

    async def clock_offset(self) -> float:
        return 3600.0


async def test_without_a_clock_the_engine_keeps_the_stores_time():
    engine = SagaEngine(store=AnHourAhead(), sagas=[DEADLINED], deps=Bank())

    handle = await engine.start(DEADLINED, input={})
    state = await handle.status()
    await engine.close()

    assert state.deadline_at is not None
    assert state.deadline_at > time.time() + 3600  # the store's hour ahead, plus 90 s


class Holding:
    """An observer that keeps the sagas this process says it drives now."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.holds: list[str] = []

    def saga_started(self, state: SagaState) -> None: ...
    def attempt_finished(self, state: SagaState, start: object, end: object) -> None: ...
    def saga_settled(self, state: SagaState) -> None: ...
    def sagas_claimed(self, states: object) -> None: ...
    def lease_lost(self, saga_id: str) -> None: ...

    def saga_held(self, saga_id: str) -> None:
        self.held.add(saga_id)
        self.holds.append(saga_id)

    def saga_let_go(self, saga_id: str) -> None:
        self.held.discard(saga_id)


async def test_a_saga_that_parks_to_wait_is_let_go_and_held_again_when_woken(world: World):
    holding = Holding()
    engine = SagaEngine(
        store=world.store, sagas=[PAY], deps=world.bank, clock=world.clock, observer=holding
    )
    state = await parked(engine)
    assert holding.holds == [state.id] and holding.held == set()

    await engine.send(state.id, "confirmation", {"outcome": "confirmed"})
    done = await engine.handle(state.id).result()

    assert done.status is SagaStatus.COMPLETED
    assert holding.holds == [state.id, state.id] and holding.held == set()
