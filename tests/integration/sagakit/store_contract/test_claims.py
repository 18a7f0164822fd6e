"""Leases, claims and fencing: who may write a saga, and what a stale writer changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sagakit import AttemptStatus, LeaseLost, SagaEvent, SagaStatus, SagaStore
from tests.integration.sagakit.store_contract.conftest import StoreFactory
from tests.integration.sagakit.store_contract.states import new_saga, start_of, succeeded

SHORT_LEASE = timedelta(milliseconds=200)


async def released(store: SagaStore, count: int) -> list[str]:
    """Sagas nobody holds, due now, in the order they became due."""
    ids = []
    for _ in range(count):
        saga = new_saga()
        created = await store.create(saga, owner="me", first_attempt=start_of(saga))
        await store.finish_attempt(
            created, start_of(saga), succeeded(), created.evolve(cursor=1), release=True
        )
        ids.append(saga.id)
    return ids


async def test_a_live_lease_keeps_a_saga_from_every_other_claim(store: SagaStore):
    created = await store.create(new_saga(), owner="me")

    assert await store.claim_due(owner="other", limit=10) == []
    assert await store.claim(created.id, owner="other") is None


async def test_a_forced_claim_takes_a_held_saga_and_bumps_its_fencing_token(store: SagaStore):
    created = await store.create(new_saga(), owner="me")

    claimed = await store.claim(created.id, owner="operator", force=True)

    assert claimed is not None and claimed.fencing_token == created.fencing_token + 1
    loaded = await store.load(created.id)
    assert loaded is not None and loaded.fencing_token == claimed.fencing_token


async def test_claiming_an_unknown_saga_finds_none(store: SagaStore):
    assert await store.claim("nobody", owner="me", force=True) is None


async def test_an_expired_lease_lets_another_claim_the_saga(make_store: StoreFactory):
    store = await make_store(SHORT_LEASE)
    created = await store.create(new_saga(), owner="dead")
    await asyncio.sleep(SHORT_LEASE.total_seconds() * 1.5)

    [claimed] = await store.claim_due(owner="rescuer", limit=10)

    assert claimed.id == created.id and claimed.fencing_token == created.fencing_token + 1
    assert await store.claim(created.id, owner="third") is None  # the rescuer holds it now


async def test_an_expired_lease_can_be_claimed_by_id(make_store: StoreFactory):
    store = await make_store(SHORT_LEASE)
    created = await store.create(new_saga(), owner="dead")
    await asyncio.sleep(SHORT_LEASE.total_seconds() * 1.5)

    claimed = await store.claim(created.id, owner="rescuer")

    assert claimed is not None and claimed.fencing_token == created.fencing_token + 1


async def test_due_claims_take_at_most_the_limit_oldest_due_first(store: SagaStore):
    ids = await released(store, 3)

    first = await store.claim_due(owner="a", limit=2)
    second = await store.claim_due(owner="b", limit=2)

    assert sorted(s.id for s in first) == sorted(ids[:2])
    assert [s.id for s in second] == ids[2:]
    assert await store.claim_due(owner="c", limit=2) == []


async def test_a_limit_below_one_claims_nothing(store: SagaStore):
    await released(store, 1)

    assert await store.claim_due(owner="a", limit=0) == []


async def test_finished_sagas_are_never_due(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))
    await store.finish_attempt(
        created, start_of(saga), succeeded(), created.evolve(status=SagaStatus.COMPLETED)
    )

    assert await store.claim_due(owner="other", limit=10) == []


async def test_concurrent_due_claims_never_take_the_same_saga(concurrent_store: SagaStore):
    store = concurrent_store
    ids = await released(store, 12)

    batches = await asyncio.gather(*(store.claim_due(owner=f"w{i}", limit=5) for i in range(4)))

    claimed = [state.id for batch in batches for state in batch]
    assert len(claimed) == len(set(claimed)) == len(ids)


async def test_a_stale_begin_raises_lease_lost_and_records_nothing(store: SagaStore):
    saga = new_saga()
    mine = await store.create(saga, owner="me")
    await store.claim(saga.id, owner="other", force=True)

    with pytest.raises(LeaseLost):
        await store.begin_attempt(mine, start_of(saga), close_interrupted=True)

    assert await store.attempts(saga.id) == []
    loaded = await store.load(saga.id)
    assert loaded is not None and loaded.attempt == 0


async def test_a_stale_finish_raises_lease_lost_and_changes_nothing(store: SagaStore):
    saga = new_saga()
    mine = await store.create(saga, owner="me", first_attempt=start_of(saga))
    theirs = await store.claim(saga.id, owner="other", force=True)

    with pytest.raises(LeaseLost):
        await store.finish_attempt(
            mine,
            start_of(saga),
            succeeded(),
            mine.evolve(cursor=1, results={"payment": {"ok": True}}),
            next_start=start_of(saga, "inventory"),
            release=True,
        )

    assert await store.load(saga.id) == theirs
    assert [a.status for a in await store.attempts(saga.id)] == [AttemptStatus.STARTED]
    # the stale writer did not release the lease its successor holds
    assert await store.claim(saga.id, owner="third") is None


async def test_a_stale_transition_raises_lease_lost_and_stores_no_event(store: SagaStore):
    saga = new_saga()
    mine = await store.create(saga, owner="me")
    theirs = await store.claim(saga.id, owner="other", force=True)
    abort = SagaEvent(saga_id=saga.id, kind="abort", actor="alice", at=120.0)

    with pytest.raises(LeaseLost):
        await store.transition(mine, mine.evolve(status=SagaStatus.COMPENSATING), event=abort)

    assert await store.load(saga.id) == theirs
    assert await store.events(saga.id) == []


async def test_the_new_holders_writes_go_through(store: SagaStore):
    saga = new_saga()
    await store.create(saga, owner="me", first_attempt=start_of(saga))
    theirs = await store.claim(saga.id, owner="other", force=True)
    assert theirs is not None

    await store.begin_attempt(theirs, start_of(saga, attempt=2), close_interrupted=True)
    await store.finish_attempt(
        theirs, start_of(saga, attempt=2), succeeded(), theirs.evolve(cursor=1, attempt=2)
    )

    loaded = await store.load(saga.id)
    assert loaded is not None and loaded.cursor == 1
