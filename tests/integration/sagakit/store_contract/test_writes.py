"""Creating a saga, beginning and finishing its attempts, and operators' transitions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from sagakit import AttemptStatus, Direction, Failure, SagaError, SagaEvent, SagaStatus, SagaStore
from sagakit.state import AttemptRecord
from tests.integration.sagakit.store_contract.states import failed, new_saga, start_of, succeeded

ALREADY_STORED = (SagaError, IntegrityError)
"""The memory store refuses a second row with its own error, a database with its own."""


def summary(history: list[AttemptRecord]) -> list[tuple[str, str, int, AttemptStatus]]:
    return [(a.step, a.direction.value, a.attempt, a.status) for a in history]


async def test_a_created_saga_is_loaded_as_it_was_stored_with_its_first_fencing_token(
    store: SagaStore,
):
    created = await store.create(new_saga(), owner="me")

    assert created.fencing_token == 1
    assert await store.load(created.id) == created
    assert await store.attempts(created.id) == []


async def test_a_saga_created_with_its_first_attempt_has_that_attempt_begun(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    [record] = await store.attempts(created.id)
    assert record == AttemptRecord.of(start_of(saga))
    assert record.status is AttemptStatus.STARTED and record.finished_at is None


async def test_a_saga_id_is_stored_once(store: SagaStore):
    saga = new_saga()
    await store.create(saga, owner="me")

    with pytest.raises(ALREADY_STORED):
        await store.create(saga.evolve(name="other"), owner="me")
    loaded = await store.load(saga.id)
    assert loaded is not None and loaded.name == "checkout"


async def test_an_unknown_saga_loads_as_none_with_no_history(store: SagaStore):
    assert await store.load("nobody") is None
    assert await store.attempts("nobody") == []
    assert await store.events("nobody") == []


async def test_beginning_an_attempt_records_it_started_and_the_sagas_attempt(store: SagaStore):
    created = await store.create(new_saga(), owner="me")

    await store.begin_attempt(created, start_of(created, attempt=1))

    loaded = await store.load(created.id)
    assert loaded is not None and loaded.attempt == 1
    assert summary(list(await store.attempts(created.id))) == [
        ("payment", "forward", 1, AttemptStatus.STARTED)
    ]


async def test_the_same_attempt_cannot_be_begun_twice(store: SagaStore):
    created = await store.create(new_saga(), owner="me")
    await store.begin_attempt(created, start_of(created))

    with pytest.raises(ALREADY_STORED):
        await store.begin_attempt(created, start_of(created))
    assert len(await store.attempts(created.id)) == 1


async def test_beginning_after_a_claim_can_close_the_interrupted_attempts(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="dead", first_attempt=start_of(saga))
    claimed = await store.claim(created.id, owner="rescuer", force=True)
    assert claimed is not None

    await store.begin_attempt(claimed, start_of(saga, attempt=2), close_interrupted=True)

    assert summary(list(await store.attempts(created.id))) == [
        ("payment", "forward", 1, AttemptStatus.INTERRUPTED),
        ("payment", "forward", 2, AttemptStatus.STARTED),
    ]


async def test_beginning_without_closing_leaves_earlier_attempts_started(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.begin_attempt(created, start_of(saga, "inventory"))

    assert [a.status for a in await store.attempts(created.id)] == [AttemptStatus.STARTED] * 2


async def test_finishing_records_the_outcome_and_the_next_state_together(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))
    done = created.evolve(attempt=1, cursor=1, results={"payment": {"charge": "c-1"}})

    await store.finish_attempt(created, start_of(saga), succeeded({"charge": "c-1"}), done)

    loaded = await store.load(created.id)
    assert loaded is not None
    assert (loaded.cursor, loaded.results, loaded.status) == (
        1,
        {"payment": {"charge": "c-1"}},
        SagaStatus.RUNNING,
    )
    assert loaded.fencing_token == created.fencing_token
    [record] = await store.attempts(created.id)
    assert (record.status, record.result, record.finished_at) == (
        AttemptStatus.SUCCEEDED,
        {"charge": "c-1"},
        110.0,
    )


async def test_finishing_with_a_next_start_begins_the_next_attempt(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.finish_attempt(
        created,
        start_of(saga),
        succeeded(),
        created.evolve(cursor=1),
        next_start=start_of(saga, "inventory", attempt=2),
    )

    loaded = await store.load(created.id)
    assert loaded is not None and (loaded.cursor, loaded.attempt) == (1, 2)
    assert summary(list(await store.attempts(created.id))) == [
        ("payment", "forward", 1, AttemptStatus.SUCCEEDED),
        ("inventory", "forward", 2, AttemptStatus.STARTED),
    ]


async def test_a_failure_is_stored_with_its_error_and_the_sagas_failure(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))
    failure = Failure(step="payment", direction=Direction.FORWARD, error="declined", code="card")
    compensating = created.evolve(
        status=SagaStatus.COMPENSATING, attempt=1, failure=failure, attempt_base=1
    )

    await store.finish_attempt(created, start_of(saga), failed("declined"), compensating)

    loaded = await store.load(created.id)
    assert loaded is not None
    assert (loaded.status, loaded.failure, loaded.attempt_base) == (
        SagaStatus.COMPENSATING,
        failure,
        1,
    )
    [record] = await store.attempts(created.id)
    assert (record.status, record.error, record.result) == (AttemptStatus.FAILED, "declined", None)


async def test_a_retry_after_makes_the_saga_wait_and_not_due(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.finish_attempt(
        created,
        start_of(saga),
        failed(),
        created.evolve(attempt=1),
        retry_after=timedelta(hours=1),
        release=True,
    )

    loaded = await store.load(created.id)
    assert loaded is not None and loaded.retry_at is not None
    assert await store.claim_due(owner="other", limit=10) == []


async def test_a_released_saga_is_due_again_at_once(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.finish_attempt(
        created, start_of(saga), failed(), created.evolve(attempt=1), release=True
    )

    loaded = await store.load(created.id)
    assert loaded is not None and loaded.retry_at is None
    [claimed] = await store.claim_due(owner="other", limit=10)
    assert claimed.id == created.id and claimed.fencing_token == created.fencing_token + 1


async def test_a_kept_lease_holds_the_saga_after_a_step(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.finish_attempt(created, start_of(saga), succeeded(), created.evolve(cursor=1))

    assert await store.claim_due(owner="other", limit=10) == []
    assert await store.claim(created.id, owner="other") is None


async def test_a_terminal_state_gives_up_the_lease(store: SagaStore):
    saga = new_saga()
    created = await store.create(saga, owner="me", first_attempt=start_of(saga))

    await store.finish_attempt(
        created, start_of(saga), succeeded(), created.evolve(status=SagaStatus.COMPLETED)
    )

    claimed = await store.claim(created.id, owner="other")
    assert claimed is not None and claimed.status is SagaStatus.COMPLETED
    # ...but a finished saga is never due
    assert await store.claim_due(owner="third", limit=10) == []


async def test_a_transition_stores_the_state_and_its_event_together(store: SagaStore):
    created = await store.create(new_saga(), owner="me")
    aborting = created.evolve(status=SagaStatus.COMPENSATING, updated_at=120.0)
    abort = SagaEvent(saga_id=created.id, kind="abort", actor="alice", at=120.0, detail="called")

    await store.transition(created, aborting, event=abort)

    loaded = await store.load(created.id)
    assert loaded is not None and loaded.status is SagaStatus.COMPENSATING
    assert await store.events(created.id) == [abort]


async def test_events_come_back_oldest_first(store: SagaStore):
    created = await store.create(new_saga(), owner="me")
    first = SagaEvent(saga_id=created.id, kind="abort", actor="alice", at=120.0)
    second = SagaEvent(saga_id=created.id, kind="retry", actor="bob", at=121.0, detail=None)

    await store.transition(created, created.evolve(updated_at=120.0), event=first)
    await store.transition(created, created.evolve(updated_at=121.0), event=second)

    assert await store.events(created.id) == [first, second]


async def test_a_transition_without_an_event_records_none(store: SagaStore):
    created = await store.create(new_saga(), owner="me")

    await store.transition(created, created.evolve(status=SagaStatus.FAILED))

    loaded = await store.load(created.id)
    assert loaded is not None and loaded.status is SagaStatus.FAILED
    assert await store.events(created.id) == []
