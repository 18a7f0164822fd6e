"""On PostgreSQL, attempts finished while another finish is in flight share a statement."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from sagakit import AttemptStatus, Direction, LeaseLost, SagaEngine, SagaState, SqlSagaStore
from sagakit.state import AttemptEnd, AttemptStart
from sagakit.store import StoreCounters
from sagakit.store.tables import attempts
from tests.conftest import test_database_backend
from tests.support.participants import FakeParticipant, saga_over

pytestmark = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql); SQLite batches its own way",
)

F = Direction.FORWARD


def begun(saga_id: str, step: str) -> AttemptStart:
    return AttemptStart(
        saga_id=saga_id,
        step=step,
        direction=F,
        attempt=1,
        idempotency_key=f"{saga_id}:{step}:forward",
        started_at=1.0,
    )


async def sagas_paying(store: SqlSagaStore, count: int) -> list[SagaState]:
    """Sagas stored with their first step's attempt begun."""
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=store, sagas=[saga])
    created = []
    for _ in range(count):
        state = engine.new_state(saga, input={"n": len(created)})
        created.append(
            await store.create(state, owner=engine.owner, first_attempt=begun(state.id, "payment"))
        )
    return created


async def finish_payment(store: SqlSagaStore, state: SagaState) -> None:
    """Payment succeeded; the saga moves on and begins its inventory step."""
    await store.finish_attempt(
        state,
        begun(state.id, "payment"),
        AttemptEnd(status=AttemptStatus.SUCCEEDED, finished_at=2.0, result={"paid": state.id}),
        state.evolve(cursor=1, results={"payment": {"paid": state.id}}),
        next_start=begun(state.id, "inventory"),
    )


async def moved_on(store: SqlSagaStore, state: SagaState) -> bool:
    loaded = await store.load(state.id)
    history = [(a.step, a.status) for a in await store.attempts(state.id)]
    return (
        loaded is not None
        and loaded.cursor == 1
        and loaded.results == {"payment": {"paid": state.id}}
        and history == [("payment", AttemptStatus.SUCCEEDED), ("inventory", AttemptStatus.STARTED)]
    )


async def test_finishes_asked_for_together_share_one_statement_and_each_lands(
    sql_store: SqlSagaStore, store_counters: StoreCounters
):
    sagas = await sagas_paying(sql_store, 10)
    before = store_counters.statements

    await asyncio.gather(*(finish_payment(sql_store, state) for state in sagas))

    # The first went alone; the nine asked for while it was in flight went together.
    assert store_counters.statements - before == 2
    assert all([await moved_on(sql_store, state) for state in sagas])


async def test_a_stale_token_in_a_batch_fails_that_saga_alone(sql_store: SqlSagaStore):
    sagas = await sagas_paying(sql_store, 6)
    stale = sagas[3]
    await sql_store.claim(stale.id, owner="other", force=True)

    outcomes = await asyncio.gather(
        *(finish_payment(sql_store, state) for state in sagas), return_exceptions=True
    )

    assert isinstance(outcomes[3], LeaseLost)
    assert [outcome for i, outcome in enumerate(outcomes) if i != 3] == [None] * 5
    assert [await moved_on(sql_store, state) for state in sagas] == [True] * 3 + [False] + [
        True
    ] * 2
    untouched = await sql_store.load(stale.id)
    assert untouched is not None and untouched.cursor == 0 and untouched.results == {}


async def test_a_batch_the_database_refuses_is_sent_again_saga_by_saga(
    sql_store: SqlSagaStore, store_counters: StoreCounters
):
    sagas = await sagas_paying(sql_store, 6)
    clashing = sagas[2]
    async with sql_store.engine.begin() as connection:  # its next attempt is already there
        await connection.execute(
            insert(attempts).values(
                saga_id=clashing.id,
                step="inventory",
                direction="forward",
                attempt=1,
                idempotency_key="taken",
                status="started",
                started_at=1.0,
            )
        )
    before = store_counters.statements

    outcomes = await asyncio.gather(
        *(finish_payment(sql_store, state) for state in sagas), return_exceptions=True
    )

    assert isinstance(outcomes[2], IntegrityError)
    assert isinstance(outcomes[2].orig, asyncpg.UniqueViolationError)
    assert [outcome for i, outcome in enumerate(outcomes) if i != 2] == [None] * 5
    # The first alone, the batch of five refused as a whole, then each of the five alone.
    assert store_counters.statements - before == 7
    assert [await moved_on(sql_store, state) for state in sagas] == [True] * 2 + [False] + [
        True
    ] * 3
