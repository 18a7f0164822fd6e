"""A ``Parallel`` group on the SQL store (SQLite, or PostgreSQL with
``TEST_DATABASE=postgresql``): members side by side, and a process that dies before or
after any of the saga's writes, its successor finishing from the log."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from sagakit import (
    Direction,
    Parallel,
    Saga,
    SagaEngine,
    SagaStatus,
    SqlSagaStore,
    Step,
    StepContext,
    open_database,
)
from sagakit.migrate import upgrade
from tests.integration.sagakit.test_resume import LEASE, CrashingStore, SimulatedCrash
from tests.support.participants import FAST_RETRY, Behaviour, FakeParticipant

F, C = Direction.FORWARD, Direction.COMPENSATE
STEP_TIMEOUT = timedelta(milliseconds=50)
STEPS = ("payment", "inventory", "quote", "shipping")


def step(participant: FakeParticipant, name: str) -> Step:
    return Step(
        name,
        participant.action(name, F),
        participant.action(name, C),
        retry=FAST_RETRY,
        compensation_retry=FAST_RETRY,
        timeout=STEP_TIMEOUT,
    )


def order(participant: FakeParticipant) -> Saga:
    return Saga(
        "order",
        1,
        (
            step(participant, "payment"),
            Parallel(step(participant, "inventory"), step(participant, "quote")),
            step(participant, "shipping"),
        ),
    )


async def test_members_overlap_on_the_sql_store_and_the_saga_completes(sql_store: SqlSagaStore):
    barrier = asyncio.Barrier(2)

    async def meet(context: StepContext) -> dict[str, str]:
        await barrier.wait()  # one member alone would wait here for ever
        return {"member": context.step}

    saga = Saga(
        "pair",
        1,
        (Parallel(Step("left", meet, timeout=LEASE / 2), Step("right", meet, timeout=LEASE / 2)),),
    )
    engine = SagaEngine(store=sql_store, sagas=[saga])

    async with asyncio.timeout(30):
        state = await engine.run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert state.results == {"left": {"member": "left"}, "right": {"member": "right"}}
    history = await sql_store.attempts(state.id)
    assert sorted((a.step, a.attempt, a.idempotency_key) for a in history) == [
        ("left", 1, f"{state.id}:left:forward"),
        ("right", 1, f"{state.id}:right:forward"),
    ]


SCENARIOS = {
    "completes": {},
    "a member refuses": {("quote", F): [Behaviour.REJECT]},
    "a member retries": {("inventory", F): [Behaviour.FAIL_AFTER_EFFECT]},
}


async def count_writes(url: str, script: dict[Any, list[Behaviour]]) -> tuple[int, SagaStatus]:
    engine = open_database(url)
    store = CrashingStore(SqlSagaStore(engine, lease_duration=LEASE), crash_at=0, before=False)
    saga = order(FakeParticipant(script=dict(script)))
    state = await SagaEngine(store=store, sagas=[saga]).run(saga, input={})  # type: ignore[arg-type]
    await engine.dispose()
    return store.writes, state.status


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("before", [True, False], ids=["before-write", "after-write"])
async def test_a_fresh_engine_finishes_a_group_interrupted_at_any_write(
    make_database_url, scenario, before
):
    script = SCENARIOS[scenario]
    label = scenario.replace(" ", "_")
    reference_url = await make_database_url(f"reference_{label}")
    reference = open_database(reference_url)
    await upgrade(reference)
    await reference.dispose()
    total, expected = await count_writes(reference_url, script)

    for crash_at in range(1, total + 1):
        if not before and crash_at == total:
            continue  # dying after the last write leaves nothing to resume
        url = await make_database_url(f"{label}_{int(before)}_{crash_at}")
        participant = FakeParticipant(script=dict(script))
        saga = order(participant)

        first = open_database(url)
        await upgrade(first)
        store = CrashingStore(
            SqlSagaStore(first, lease_duration=LEASE), crash_at=crash_at, before=before
        )
        dying = SagaEngine(store=store, sagas=[saga])  # type: ignore[arg-type]
        with pytest.raises(SimulatedCrash):
            await dying.run(saga, input={}, saga_id=f"saga-{crash_at}")
        await dying.close()  # the other member's task dies with its process
        await first.dispose()

        await asyncio.sleep(LEASE.total_seconds() * 1.2)
        second = open_database(url)
        fresh_store = SqlSagaStore(second, lease_duration=LEASE)
        recovered = await SagaEngine(store=fresh_store, sagas=[saga]).recover()
        final = await fresh_store.load(f"saga-{crash_at}")
        history = await fresh_store.attempts(f"saga-{crash_at}")
        await second.dispose()

        where = f"crash {'before' if before else 'after'} write {crash_at} of {total}"
        if final is None:
            assert before and crash_at == 1, where  # died before the saga was stored
            assert participant.calls == [], where
            continue
        assert recovered == 1, where
        assert final.status is expected, where
        assert all(count == 1 for count in participant.applied.values()), where
        assert not [a for a in history if a.status == "started"], where
        numbers = [(a.step, a.direction, a.attempt) for a in history]
        assert len(numbers) == len(set(numbers)), where
        for name in STEPS:
            for direction in Direction:
                assert len(participant.keys_used(final.id, name, direction)) <= 1, where
        if final.status is SagaStatus.COMPENSATED:  # the group failed: both members undone
            assert participant.called(final.id, C)[:2] == ["quote", "inventory"], where
