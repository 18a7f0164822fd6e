"""The API a saga is written against: constant definitions, deps, typed input, handles."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from sagakit import (
    JSON,
    AttemptLimit,
    InMemorySagaStore,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaNotFound,
    SagaStatus,
    Step,
    StepContext,
    TransientError,
    UnknownSagaError,
)


@dataclass
class Clients:
    bank: str


@dataclass
class Order:
    order_id: str
    total: str


class Parcel(BaseModel):
    weight_kg: float
    country: str


async def charge(context: StepContext[Clients, Order]) -> JSON:
    return {"bank": context.deps.bank, "order": context.input.order_id, "type": "Order"}


async def weigh(context: StepContext[None, Parcel]) -> JSON:
    assert isinstance(context.input, Parcel)
    return {"grams": int(context.input.weight_kg * 1000)}


PAY = Saga("pay", 1, (Step("charge", charge),), input_type=Order)
SHIP = Saga("ship", 1, (Step("weigh", weigh),), input_type=Parcel)


async def test_actions_get_the_engines_deps_and_the_typed_input():
    engine = SagaEngine(store=InMemorySagaStore(), sagas=[PAY], deps=Clients(bank="acme"))

    state = await engine.run(PAY, input=Order("o-1", "35.00"))

    assert state.status is SagaStatus.COMPLETED
    assert state.results["charge"] == {"bank": "acme", "order": "o-1", "type": "Order"}
    assert state.input == {"order_id": "o-1", "total": "35.00"}  # stored as JSON


async def test_a_pydantic_input_is_validated_at_start_and_nothing_is_stored_when_wrong():
    store = InMemorySagaStore()
    engine = SagaEngine(store=store, sagas=[SHIP])

    with pytest.raises(ValidationError, match="weight_kg"):
        await engine.start(SHIP, input={"weight_kg": "heavy", "country": "CH"}, saga_id="p-1")

    assert await store.load("p-1") is None
    done = await engine.run(SHIP, input={"weight_kg": "1.5", "country": "CH"})
    assert done.results["weigh"] == {"grams": 1500}


async def test_a_saga_the_engine_was_not_given_is_refused_with_what_to_do():
    engine = SagaEngine(store=InMemorySagaStore(), sagas=[PAY])

    with pytest.raises(UnknownSagaError, match="SagaEngine\\(sagas="):
        await engine.start(SHIP, input={"weight_kg": 1, "country": "CH"})


async def test_the_attempt_limit_caps_every_step_below_the_definitions_policy():
    calls = 0

    async def flaky(_context: StepContext) -> JSON:
        nonlocal calls
        calls += 1
        raise TransientError("down")

    patient = RetryPolicy(initial_interval=timedelta(0), maximum_interval=timedelta(0))
    saga = Saga("flaky", 1, (Step("only", flaky, retry=patient),))
    engine = SagaEngine(
        store=InMemorySagaStore(), sagas=[saga], attempt_limit=AttemptLimit(forward=2)
    )

    state = await engine.run(saga, input={})

    assert calls == 2
    assert state.status is SagaStatus.COMPENSATED
    assert saga.steps[0].retry.maximum_attempts == 5  # the definition itself is unchanged


async def test_a_handle_reads_status_and_history_and_unknown_ids_say_so():
    engine = SagaEngine(store=InMemorySagaStore(), sagas=[PAY], deps=Clients(bank="acme"))
    started = await engine.start(PAY, input=Order("o-2", "1.00"), saga_id="o-2")

    async with asyncio.timeout(5):
        ended = await started.result()

    assert started.id == "o-2" and ended.status is SagaStatus.COMPLETED
    assert (await started.status()).status is SagaStatus.COMPLETED
    assert [a.step for a in await engine.handle("o-2").history()] == ["charge"]
    with pytest.raises(SagaNotFound):
        await engine.handle("nobody").status()
    with pytest.raises(SagaNotFound):
        await engine.handle("nobody").result()


async def test_a_mapping_input_without_an_input_type_is_handed_over_as_is():
    seen: list[object] = []

    async def look(context: StepContext) -> JSON:
        seen.append(context.input)
        return None

    saga = Saga("look", 1, (Step("look", look),))
    engine = SagaEngine(store=InMemorySagaStore(), sagas=[saga])

    await engine.run(saga, input={"a": 1})

    assert seen == [{"a": 1}]
    with pytest.raises(TypeError, match="mapping"):
        await engine.start(saga, input=["not", "a", "mapping"])
