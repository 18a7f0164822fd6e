"""Properties of a step that waits for an event, for every schedule of sends, clock
advances, recoveries and crashes: the first outcome recorded decides the wait, and every
sender is told the same story."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sagakit import (
    JSON,
    AttemptStatus,
    Await,
    Delivery,
    EventRefused,
    InMemorySagaStore,
    Saga,
    SagaEngine,
    SagaStatus,
    SignalKind,
    Step,
    StepContext,
    StepRejected,
)
from tests.support.participants import FakeClock, no_jitter

WAIT = timedelta(minutes=15)
LEASE = timedelta(seconds=30)


@dataclass
class Bank:
    """Holds kept by idempotency key (saga id as value), and the sagas shipped."""

    holds: dict[str, str] = field(default_factory=dict)
    shipped: set[str] = field(default_factory=set)


async def hold(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    await asyncio.sleep(0)  # a crash may land before the effect, or after it and before
    context.deps.holds.setdefault(context.idempotency_key, context.saga_id)
    await asyncio.sleep(0)  # the engine records the result
    return {"hold": context.idempotency_key}


async def release(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    assert context.forward_key is not None
    context.deps.holds.pop(context.forward_key, None)  # nothing to undo is fine
    return None


async def ship(context: StepContext[Bank, Mapping[str, JSON]]) -> JSON:
    context.deps.shipped.add(context.saga_id)
    return None


def confirmed(context: StepContext[Bank, Mapping[str, JSON]], payload: JSON) -> JSON:
    if payload.get("outcome") != "confirmed":
        raise StepRejected("the customer declined", code="declined")
    return context.result


PAY = Saga(
    name="pay",
    version=1,
    steps=(
        Step(
            "hold",
            hold,
            compensation=release,
            wait=Await(event="confirmation", timeout=WAIT, on_event=confirmed),
        ),
        Step("ship", ship),
    ),
)


@dataclass(frozen=True)
class Send:
    """Advance the clock by ``delay`` seconds, then send this event."""

    delay: float
    outcome: str
    key: str | None  # None: the payload's digest
    note: int  # a payload variant: equal payloads (and no key) make a duplicate

    @property
    def payload(self) -> JSON:
        return {"outcome": self.outcome, "note": self.note}

    @property
    def identity(self) -> str:
        """What tells two sends apart, as the engine's key does."""
        return f"key:{self.key}" if self.key else json.dumps(self.payload, sort_keys=True)


@dataclass(frozen=True)
class Recover:
    """Advance the clock by ``delay`` seconds, then claim and drive what is due."""

    delay: float


@dataclass(frozen=True)
class Settle:
    """Let the sagas driven in the background run for a few turns of the loop."""

    turns: int


@dataclass(frozen=True)
class Crash:
    """After a few turns of the loop, close the engine; a new one takes the same store."""

    turns: int


Op = Send | Recover | Settle | Crash

DELAYS = st.sampled_from([0.0, 0.0, 1.0, 31.0, 300.0, 899.0, 900.0, 901.0, 1800.0])
SENDS = st.builds(
    Send,
    delay=DELAYS,
    outcome=st.sampled_from(["confirmed", "declined"]),
    key=st.sampled_from([None, "w1", "w2"]),
    note=st.integers(0, 1),
)
QUIET_OPS = st.one_of(
    SENDS, st.builds(Recover, delay=DELAYS), st.builds(Settle, turns=st.integers(0, 20))
)
CRASHING_OPS = st.one_of(QUIET_OPS, st.builds(Crash, turns=st.integers(0, 10)))


@dataclass
class Answer:
    send: Send
    delivery: Delivery | None = None
    refused: str | None = None
    ended_unsignalled: bool = False  # at a refusal: the saga ended with no signal kept


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    bank: Bank = field(default_factory=Bank)
    store: InMemorySagaStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = InMemorySagaStore(clock=self.clock, lease_duration=LEASE)

    def engine(self) -> SagaEngine:
        return SagaEngine(
            store=self.store,
            sagas=[PAY],
            deps=self.bank,
            clock=self.clock,
            sleep=self.clock.sleep,
            uniform=no_jitter,
        )


async def turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def play(world: World, ops: list[Op]) -> tuple[str, list[Answer]]:
    """Start a saga, run the schedule against it, then let time pass until it ends."""
    engine = world.engine()
    saga_id = (await engine.start(PAY, input={"order": "o-1"})).id
    answers: list[Answer] = []
    for op in ops:
        if isinstance(op, Send):
            world.clock.advance(op.delay)
            answer = Answer(op)
            try:
                answer.delivery = await engine.send(saga_id, "confirmation", op.payload, key=op.key)
            except EventRefused as refused:
                answer.refused = refused.code
                state = await world.store.load(saga_id)
                assert state is not None
                held = await world.store.signal(saga_id, "confirmation")
                answer.ended_unsignalled = held is None and state.status.is_terminal
            answers.append(answer)
        elif isinstance(op, Recover):
            world.clock.advance(op.delay)
            await engine.recover()
        elif isinstance(op, Settle):
            await turns(op.turns)
        else:
            await turns(op.turns)
            await engine.close()
            engine = world.engine()
    for _ in range(20):  # past every wait and lease: whatever is left comes to an end
        state = await world.store.load(saga_id)
        assert state is not None
        if state.status.is_terminal:
            break
        world.clock.advance((WAIT + LEASE).total_seconds())
        await engine.recover()
        await turns(50)
    await engine.close()
    return saga_id, answers


def told(answer: Answer) -> str:
    if answer.delivery is None:
        return f"refused: {answer.refused}"
    return "recorded" if answer.delivery.recorded else "a duplicate"


async def assert_one_outcome_decides_the_wait(
    world: World, saga_id: str, answers: list[Answer]
) -> None:
    state = await world.store.load(saga_id)
    kept = await world.store.signal(saga_id, "confirmation")
    assert state is not None and kept is not None
    recorded = [a.send for a in answers if a.delivery is not None and a.delivery.recorded]
    event(f"ended {state.status} ({state.failure.code if state.failure else 'no failure'})")
    event(f"senders told {sorted({told(answer) for answer in answers})}")
    attempts = await world.store.attempts(saga_id)
    cut = sorted({a.step for a in attempts if a.status is AttemptStatus.INTERRUPTED})
    event(f"attempts a crash interrupted: {cut}")

    if kept.kind is SignalKind.TIMEOUT:
        assert recorded == []
        assert state.status is SagaStatus.COMPENSATED
        assert state.failure is not None and state.failure.code == "event_timeout"
        for answer in answers:
            assert answer.delivery is None
            assert answer.refused == "timed_out" or (
                answer.refused == "not_running" and answer.ended_unsignalled
            )
    else:
        [first] = recorded  # recorded exactly once
        assert kept.payload == first.payload
        if first.outcome == "confirmed":
            assert state.status is SagaStatus.COMPLETED
        else:
            assert state.status is SagaStatus.COMPENSATED
            assert state.failure is not None and state.failure.code == "declined"
        for answer in answers:
            if answer.send.identity == first.identity:  # the kept event, or a repeat of it
                assert answer.refused is None and answer.delivery is not None
                assert answer.delivery.signal.key == kept.key
                assert answer.delivery.recorded is (answer.send is first)
            else:
                assert answer.delivery is None
                assert answer.refused == "another_event" or (
                    answer.refused == "not_running" and answer.ended_unsignalled
                )

    if state.status is SagaStatus.COMPLETED:
        assert list(world.bank.holds.values()) == [saga_id]
        assert world.bank.shipped == {saga_id}
    else:
        assert world.bank.holds == {}  # the hold is released exactly when it compensates
        assert world.bank.shipped == set()


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ops=st.lists(QUIET_OPS, max_size=12))
async def test_the_first_recorded_outcome_decides_the_wait_and_every_sender_agrees(ops):
    world = World()

    saga_id, answers = await play(world, ops)

    await assert_one_outcome_decides_the_wait(world, saga_id, answers)


@PROPERTY
@given(ops=st.lists(CRASHING_OPS, max_size=12))
async def test_a_crash_anywhere_changes_neither_the_outcome_nor_what_senders_are_told(ops):
    world = World()

    saga_id, answers = await play(world, ops)

    await assert_one_outcome_decides_the_wait(world, saga_id, answers)
