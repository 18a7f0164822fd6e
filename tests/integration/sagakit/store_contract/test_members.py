"""A ``Parallel`` group's members: each attempt begun with the member's count in the same
write, so whoever takes the saga over numbers the next attempt after it."""

from __future__ import annotations

import pytest

from sagakit import AttemptStatus, Direction, Failure, LeaseLost, SagaState, SagaStatus, SagaStore
from sagakit.state import MemberProgress
from tests.integration.sagakit.store_contract.states import new_saga, start_of, succeeded
from tests.integration.sagakit.store_contract.test_writes import summary


def counted(state: SagaState, **attempts: int) -> SagaState:
    members = {**state.members, **{n: MemberProgress(attempts=a) for n, a in attempts.items()}}
    return state.evolve(members=members)


async def at_group(store: SagaStore) -> SagaState:
    """A saga whose first step is done, its cursor at a group (hotel, car)."""
    saga = new_saga()
    return await store.create(saga.evolve(cursor=1, results={"payment": {"ok": 1}}), owner="me")


async def test_a_members_attempt_is_begun_with_its_count_saved_in_the_same_write(
    store: SagaStore,
):
    saga = await at_group(store)

    hotel = counted(saga, hotel=1)
    await store.begin_attempt(saga, start_of(saga, "hotel"), next_state=hotel)
    both = counted(hotel, car=1)
    await store.begin_attempt(hotel, start_of(saga, "car"), next_state=both)

    loaded = await store.load(saga.id)
    one = MemberProgress(attempts=1)
    assert loaded is not None and loaded.members == {"hotel": one, "car": one}
    assert (loaded.cursor, loaded.attempt, loaded.results) == (1, 0, {"payment": {"ok": 1}})
    assert summary(list(await store.attempts(saga.id))) == [
        ("hotel", "forward", 1, AttemptStatus.STARTED),
        ("car", "forward", 1, AttemptStatus.STARTED),
    ]


async def test_a_claimer_reads_the_counts_and_begins_each_member_after_them(store: SagaStore):
    saga = await at_group(store)
    begun = counted(saga, hotel=1, car=2)
    await store.begin_attempt(saga, start_of(saga, "hotel"), next_state=counted(saga, hotel=1))
    await store.begin_attempt(saga, start_of(saga, "car", attempt=2), next_state=begun)

    claimed = await store.claim(saga.id, owner="rescuer", force=True)
    assert claimed is not None and claimed.members == begun.members
    again = counted(claimed, hotel=2)
    await store.begin_attempt(
        claimed, start_of(saga, "hotel", attempt=2), next_state=again, close_interrupted=True
    )

    assert summary(list(await store.attempts(saga.id))) == [
        ("hotel", "forward", 1, AttemptStatus.INTERRUPTED),
        ("car", "forward", 2, AttemptStatus.INTERRUPTED),
        ("hotel", "forward", 2, AttemptStatus.STARTED),
    ]


async def test_a_members_outcome_is_saved_with_the_group_as_the_members_left_it(
    store: SagaStore,
):
    saga = await at_group(store)
    begun = counted(saga, hotel=1, car=1)
    await store.begin_attempt(saga, start_of(saga, "hotel"), next_state=begun)
    backing_off = begun.evolve(
        results={**begun.results, "car": {"car": "c-1"}},
        members={**begun.members, "hotel": MemberProgress(attempts=1, retry_at=130.5)},
    )

    await store.finish_attempt(begun, start_of(saga, "hotel"), succeeded(), backing_off)

    loaded = await store.load(saga.id)
    assert loaded is not None
    assert loaded.members == {
        "hotel": MemberProgress(attempts=1, retry_at=130.5),
        "car": MemberProgress(attempts=1),
    }
    assert loaded.results == {"payment": {"ok": 1}, "car": {"car": "c-1"}}


async def test_the_counts_stay_with_a_group_that_fails_and_go_with_one_that_succeeds(
    store: SagaStore,
):
    saga = await at_group(store)
    begun = counted(saga, hotel=1)
    await store.begin_attempt(saga, start_of(saga, "hotel"), next_state=begun)
    failure = Failure(step="hotel", direction=Direction.FORWARD, error="full", code="full")
    failing = begun.evolve(status=SagaStatus.COMPENSATING, failure=failure)

    await store.finish_attempt(begun, start_of(saga, "hotel"), succeeded(), failing)
    failed = await store.load(saga.id)
    await store.finish_attempt(failing, start_of(saga, "hotel"), succeeded(), saga.evolve(cursor=3))
    past = await store.load(saga.id)

    assert failed is not None and failed.members == {"hotel": MemberProgress(attempts=1)}
    assert past is not None and past.members == {}


async def test_a_stale_members_begin_raises_lease_lost_and_saves_nothing(store: SagaStore):
    mine = await at_group(store)
    theirs = await store.claim(mine.id, owner="other", force=True)

    with pytest.raises(LeaseLost):
        await store.begin_attempt(mine, start_of(mine, "hotel"), next_state=counted(mine, hotel=1))

    assert await store.load(mine.id) == theirs
    assert await store.attempts(mine.id) == []
