"""Pruning: finished sagas' history goes, in batches, under a retention policy; a saga
that is running, waiting, compensating or failed stays whatever its age."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, cast

import pytest

from sagakit import SagaStatus, SagaStore, SqlSagaStore
from sagakit.retention import PrunableStore, Pruned, Pruner, Retention
from sagakit.state import SagaEvent, SagaState, Signal, SignalKind
from tests.integration.sagakit.store_contract.states import new_saga, start_of, succeeded

EVERY_FINISHED = Retention(keep_for=None, keep_last=0)


async def saga_in(
    store: SagaStore, status: SagaStatus, *, finished_at: float | None = None, **changes: Any
) -> SagaState:
    """A saga with one attempt, an operator's event and a signal, left in ``status``."""
    saga = await store.create(new_saga(), owner="me")
    start = start_of(saga)
    await store.begin_attempt(saga, start)
    await store.deliver(
        Signal(saga_id=saga.id, name="paid", kind=SignalKind.EVENT, key="k", sender="t", at=1.0)
    )
    at = finished_at if finished_at is not None else time.time()
    after = saga.evolve(status=status, attempt=1, updated_at=at, **changes)
    await store.finish_attempt(saga, start, succeeded(), after)
    await store.transition(
        after, after, event=SagaEvent(saga_id=saga.id, kind="retry", actor="bob", at=at)
    )
    return after


def prunable(store: SagaStore) -> PrunableStore:
    return cast(PrunableStore, store)


async def test_only_finished_sagas_go_with_their_attempts_events_and_signals(store: SagaStore):
    kept = [
        await saga_in(store, SagaStatus.RUNNING),
        await saga_in(store, SagaStatus.RUNNING, wait_until=time.time() + 900),
        await saga_in(store, SagaStatus.COMPENSATING),
        await saga_in(store, SagaStatus.FAILED),
    ]
    gone = [
        await saga_in(store, SagaStatus.COMPLETED),
        await saga_in(store, SagaStatus.COMPENSATED),
    ]

    pruned = await prunable(store).prune(EVERY_FINISHED)

    assert pruned == Pruned(sagas=2, rows=2 * 4)  # the saga, an attempt, an event, a signal
    for saga in gone:
        assert await store.load(saga.id) is None
        assert not await store.attempts(saga.id) and not await store.events(saga.id)
        assert await store.signal(saga.id, "paid") is None
    for saga in kept:
        assert (await store.load(saga.id)) is not None
        assert len(await store.attempts(saga.id)) == 1 and len(await store.events(saga.id)) == 1


async def test_keep_last_keeps_the_most_recently_finished(store: SagaStore):
    finished = [await saga_in(store, SagaStatus.COMPLETED) for _ in range(4)]

    await prunable(store).prune(Retention(keep_for=None, keep_last=2))

    left = [saga.id for saga in finished if await store.load(saga.id) is not None]
    assert left == [saga.id for saga in finished[2:]]


async def test_deletion_goes_in_batches_and_a_count_deletes_nothing(store: SagaStore):
    for _ in range(5):
        await saga_in(store, SagaStatus.COMPENSATED)
    policy = Retention(keep_for=None, keep_last=0, batch=2)

    assert await prunable(store).count_prunable(policy) == 5
    assert [(await prunable(store).prune(policy)).sagas for _ in range(4)] == [2, 2, 1, 0]
    assert await prunable(store).count_prunable(policy) == 0


async def test_a_pruner_deletes_batch_after_batch_until_none_is_left(store: SagaStore):
    for _ in range(5):
        await saga_in(store, SagaStatus.COMPLETED)
    running = await saga_in(store, SagaStatus.RUNNING)

    pruned = await Pruner(prunable(store), Retention(keep_for=None, keep_last=0, batch=2)).prune()

    assert pruned.sagas == 5
    assert await store.load(running.id) is not None


async def test_what_the_application_writes_fails_with_the_batch(store: SagaStore):
    saga = await saga_in(store, SagaStatus.COMPLETED)
    seen: list[str] = []

    async def refuse(_connection: object, states: list[SagaState]) -> None:
        seen.extend(state.id for state in states)
        raise RuntimeError("the application's write failed")

    with pytest.raises(RuntimeError):
        await prunable(store).prune(EVERY_FINISHED, on_prune=refuse)  # type: ignore[arg-type]

    assert seen == [saga.id]
    assert await store.load(saga.id) is not None


async def test_keep_for_keeps_what_finished_recently(sql_store: SqlSagaStore):
    now = time.time()
    old = await saga_in(sql_store, SagaStatus.COMPLETED, finished_at=now - 2 * 86_400)
    recent = await saga_in(sql_store, SagaStatus.COMPLETED, finished_at=now - 60)
    stuck = await saga_in(sql_store, SagaStatus.FAILED, finished_at=now - 90 * 86_400)

    assert await sql_store.oldest_finished() == pytest.approx(old.updated_at)
    pruned = await sql_store.prune(Retention(keep_for=timedelta(days=1)))

    assert pruned.sagas == 1
    assert await sql_store.load(old.id) is None
    assert await sql_store.load(recent.id) is not None
    assert await sql_store.load(stuck.id) is not None
    assert await sql_store.oldest_finished() == pytest.approx(recent.updated_at)
