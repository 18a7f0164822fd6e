"""Signals: the one outcome a saga keeps per event name, the first recorded, and the
wake-up a waiting saga gets when it is recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sagakit import SagaNotFound, SagaStore, Signal, SignalKind
from sagakit.state import SagaState
from tests.integration.sagakit.store_contract.states import new_saga


def event(saga: SagaState, key: str = "k-1", payload: object = None) -> Signal:
    return Signal(
        saga_id=saga.id,
        name="confirmation",
        kind=SignalKind.EVENT,
        key=key,
        payload=payload if payload is not None else {"confirmed": True},
        sender="webhook",
        at=200.0,
    )


def timeout(saga: SagaState) -> Signal:
    return Signal(
        saga_id=saga.id,
        name="confirmation",
        kind=SignalKind.TIMEOUT,
        key="timeout",
        sender="sagakit",
        at=300.0,
    )


async def test_the_first_signal_under_a_name_is_recorded_and_read_back(store: SagaStore):
    saga = await store.create(new_saga(), owner="me")

    delivery = await store.deliver(event(saga, payload={"amount": "25.00", "lines": [1, 2]}))

    assert delivery.recorded
    assert await store.signal(saga.id, "confirmation") == event(
        saga, payload={"amount": "25.00", "lines": [1, 2]}
    )
    assert await store.signal(saga.id, "other") is None


async def test_a_later_signal_under_the_same_name_finds_the_first(store: SagaStore):
    saga = await store.create(new_saga(), owner="me")
    await store.deliver(event(saga, key="first"))

    again = await store.deliver(event(saga, key="first"))
    other = await store.deliver(event(saga, key="second", payload={"confirmed": False}))
    late_timeout = await store.deliver(timeout(saga))

    assert not again.recorded and not other.recorded and not late_timeout.recorded
    assert again.signal == other.signal == late_timeout.signal == event(saga, key="first")


async def test_an_event_after_the_timeout_finds_the_timeout(store: SagaStore):
    saga = await store.create(new_saga(), owner="me")
    await store.deliver(timeout(saga))

    late = await store.deliver(event(saga))

    assert not late.recorded
    assert late.signal.kind is SignalKind.TIMEOUT


async def test_signals_of_one_saga_do_not_reach_another(store: SagaStore):
    first = await store.create(new_saga(), owner="me")
    second = await store.create(new_saga(), owner="me")

    await store.deliver(event(first))

    assert (await store.deliver(event(second, key="k-2"))).recorded
    assert await store.signal(first.id, "confirmation") == event(first)


async def test_a_signal_for_no_saga_is_refused(store: SagaStore):
    with pytest.raises(SagaNotFound):
        await store.deliver(event(new_saga("nobody")))


async def test_a_recorded_signal_makes_a_waiting_saga_due_now(store: SagaStore):
    saga = await store.create(new_saga(), owner="me")
    waiting = saga.evolve(wait_until=10_000_000_000.0)
    await store.transition(saga, waiting, retry_after=timedelta(minutes=5), release=True)
    assert await store.claim_due(owner="worker", limit=10) == []

    await store.deliver(event(saga))

    [claimed] = await store.claim_due(owner="worker", limit=10)
    assert claimed.id == saga.id and claimed.wait_until == 10_000_000_000.0


async def test_a_signal_for_a_saga_not_yet_waiting_leaves_its_schedule(store: SagaStore):
    saga = await store.create(new_saga(), owner="me")
    await store.transition(saga, saga, retry_after=timedelta(minutes=5), release=True)

    await store.deliver(event(saga))

    assert await store.claim_due(owner="worker", limit=10) == []


async def test_of_an_event_and_a_timeout_delivered_at_once_exactly_one_wins(
    concurrent_store: SagaStore,
):
    for _ in range(5):
        saga = await concurrent_store.create(new_saga(), owner="me")

        deliveries = await asyncio.gather(
            concurrent_store.deliver(event(saga)), concurrent_store.deliver(timeout(saga))
        )

        assert [d.recorded for d in deliveries].count(True) == 1
        winner = next(d.signal for d in deliveries if d.recorded)
        assert all(d.signal == winner for d in deliveries)
        assert await concurrent_store.signal(saga.id, "confirmation") == winner
