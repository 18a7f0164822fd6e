"""A step that waits for an event, on the SQL store (SQLite, or PostgreSQL with
``TEST_DATABASE=postgresql``): parked in the database, woken by the event, or ended by
its timeout when a worker claims it; two engines sharing the database."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

from sagakit import (
    JSON,
    Await,
    Saga,
    SagaEngine,
    SagaStatus,
    SqlSagaStore,
    Step,
    StepContext,
)
from sagakit.state import SagaState

BOUND = 60
"""Seconds before a saga that should end is called stuck: far above what it takes."""


async def reserve(context: StepContext[None, Mapping[str, JSON]]) -> JSON:
    return {"hold": context.saga_id[:8]}


async def release(context: StepContext[None, Mapping[str, JSON]]) -> JSON:
    return None


def saga(wait: timedelta) -> Saga:
    return Saga(
        name="hold",
        version=1,
        steps=(
            Step(
                "reserve",
                reserve,
                compensation=release,
                timeout=timedelta(seconds=1),
                wait=Await(event="paid", timeout=wait),
            ),
        ),
    )


async def parked(engine: SagaEngine, definition: Saga) -> SagaState:
    handle = await engine.start(definition, input={})
    async with asyncio.timeout(BOUND):
        while True:  # parked once it is due later
            state = await handle.status()
            if state.retry_at is not None:
                assert state.wait_until is not None
                return state
            await asyncio.sleep(0.01)


async def test_a_parked_saga_is_driven_on_by_the_engine_the_event_reaches(
    sql_store: SqlSagaStore,
):
    definition = saga(timedelta(hours=1))
    starter = SagaEngine(store=sql_store, sagas=[definition])
    state = await parked(starter, definition)
    other = SagaEngine(store=sql_store, sagas=[definition])  # another process, say

    delivery = await other.send(state.id, "paid", {"amount": "25.00"}, sender="webhook")
    async with asyncio.timeout(BOUND):
        done = await other.handle(state.id).result()

    assert delivery.recorded
    assert done.status is SagaStatus.COMPLETED
    assert done.results == {"reserve": {"hold": state.id[:8]}}
    events = await sql_store.events(state.id)
    assert [(e.kind, e.actor) for e in events] == [("event", "webhook")]
    await starter.close()
    await other.close()


async def test_a_wait_that_runs_out_is_ended_by_the_worker_that_claims_it(
    sql_store: SqlSagaStore,
):
    definition = saga(timedelta(milliseconds=200))
    engine = SagaEngine(store=sql_store, sagas=[definition])
    state = await parked(engine, definition)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run_worker(poll_interval=0.05, stop=stop))

    async with asyncio.timeout(BOUND):
        done = await engine.handle(state.id).result()
    stop.set()
    await worker

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "event_timeout"
    signal = await sql_store.signal(state.id, "paid")
    assert signal is not None and signal.kind.value == "timeout"
    await engine.close()


async def test_the_sql_store_tells_its_clock_apart_from_this_processes(
    sql_store: SqlSagaStore,
):
    # The database runs on this machine: its clock is this process's, give or take the
    # round trip; what matters is that the offset is read from the database.
    assert abs(await sql_store.clock_offset()) < 5.0
