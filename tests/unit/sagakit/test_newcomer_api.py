"""What a newcomer writing a saga on sagakit's public API needs, as they would write it:
the documented migration call, retries that say what to retry, and compensations that
know whether their forward step's outcome is known."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

import sagakit
from sagakit import (
    InMemorySagaStore,
    RetryPolicy,
    Saga,
    SagaEngine,
    SagaStatus,
    Step,
    StepContext,
    TransientError,
)
from sagakit.http import HTTP_RETRY
from tests.support.participants import FakeClock, no_jitter

WALLET = "http://wallet.test"
QUICK_HTTP = replace(
    HTTP_RETRY,
    initial_interval=timedelta(milliseconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
)


def engine(saga: Saga, clock: FakeClock) -> SagaEngine:
    store = InMemorySagaStore(clock=clock)
    return SagaEngine(store=store, sagas=[saga], clock=clock, sleep=clock.sleep, uniform=no_jitter)


def test_the_documented_migration_call_works_after_a_plain_import() -> None:
    code = "import sagakit; print(sagakit.migrate.upgrade.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "upgrade"
    assert sagakit.migrate.upgrade is not None


def wallet_saga(calls: list[str], compensations: list[StepContext]) -> Saga:
    client = httpx.AsyncClient(base_url=WALLET)

    async def debit(context: StepContext) -> Any:
        calls.append("debit")
        response = await client.post(
            "/debits", headers={"Idempotency-Key": context.idempotency_key}
        )
        response.raise_for_status()
        return response.json()

    async def refund(context: StepContext) -> Any:
        compensations.append(context)
        return None

    async def ship(_context: StepContext) -> Any:
        return None

    return Saga(
        "wallet",
        1,
        (Step("debit", debit, refund, retry=QUICK_HTTP), Step("ship", ship)),
    )


@respx.mock
async def test_http_retry_retries_a_5xx_and_a_dropped_connection_then_succeeds() -> None:
    respx.post(f"{WALLET}/debits").mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError("connection refused"),
            httpx.Response(201, json={"debit": "d-1"}),
        ]
    )
    calls: list[str] = []
    saga = wallet_saga(calls, [])

    state = await engine(saga, FakeClock()).run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert calls == ["debit"] * 3
    assert state.results["debit"] == {"debit": "d-1"}


@respx.mock
async def test_http_retry_takes_a_4xx_as_a_refusal_not_retried_nor_compensated() -> None:
    respx.post(f"{WALLET}/debits").mock(return_value=httpx.Response(402, json={"detail": "no"}))
    calls: list[str] = []
    compensations: list[StepContext] = []
    saga = wallet_saga(calls, compensations)

    state = await engine(saga, FakeClock()).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.step == "debit"
    assert calls == ["debit"]
    assert compensations == []


async def test_a_bug_in_an_action_is_not_retried_and_its_step_is_compensated() -> None:
    calls: list[str] = []
    compensations: list[StepContext] = []

    async def broken(_context: StepContext) -> Any:
        calls.append("broken")
        raise KeyError("a field the action expected")

    refund = wallet_saga([], compensations).steps[0].compensation
    saga = Saga("bug", 1, (Step("debit", broken, refund, retry=QUICK_HTTP),))

    state = await engine(saga, FakeClock()).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    assert calls == ["broken"]
    assert [context.step for context in compensations] == ["debit"]


async def test_a_retry_waits_at_least_what_the_participant_asked_for() -> None:
    answers = [TransientError("busy", retry_after=timedelta(seconds=7)), {"ok": True}]

    async def busy(_context: StepContext) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    saga = Saga("busy", 1, (Step("only", busy, retry=RetryPolicy(jitter=0)),))
    clock = FakeClock()

    state = await engine(saga, clock).run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert clock.slept == [7.0]


def test_retry_on_takes_types_or_a_predicate() -> None:
    by_type = RetryPolicy(retry_on=(TimeoutError, ConnectionError))
    by_predicate = RetryPolicy(retry_on=lambda error: "again" in str(error))

    assert by_type.is_retryable(TimeoutError()) and not by_type.is_retryable(ValueError())
    assert by_predicate.is_retryable(RuntimeError("try again"))
    assert not by_predicate.is_retryable(RuntimeError("never"))


@pytest.mark.parametrize("forward_answers", ["times_out", "succeeds"])
async def test_a_compensation_knows_whether_its_forward_outcome_is_known(
    forward_answers: str,
) -> None:
    compensations: list[StepContext] = []

    async def debit(_context: StepContext) -> Any:
        if forward_answers == "times_out":
            raise TimeoutError("no answer")  # the debit may have happened all the same
        return {"debit": "d-1"}

    async def refund(context: StepContext) -> Any:
        compensations.append(context)
        return None

    async def ship(_context: StepContext) -> Any:
        raise sagakit.StepRejected("no courier", code="no_courier")

    one_try = RetryPolicy(maximum_attempts=1)
    saga = Saga("wallet", 1, (Step("debit", debit, refund, retry=one_try), Step("ship", ship)))

    state = await engine(saga, FakeClock()).run(saga, input={})

    assert state.status is SagaStatus.COMPENSATED
    [undo] = compensations
    assert undo.forward_key == f"{state.id}:debit:forward"
    if forward_answers == "succeeds":
        assert undo.forward_known and undo.result == {"debit": "d-1"}
    else:
        assert not undo.forward_known and undo.result is None


@respx.mock
async def test_http_retry_honours_the_retry_after_of_a_raise_for_status_error() -> None:
    respx.post(f"{WALLET}/debits").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "4"}),
            httpx.Response(201, json={"debit": "d-1"}),
        ]
    )
    saga = wallet_saga([], [])
    clock = FakeClock()

    state = await engine(saga, clock).run(saga, input={})

    assert state.status is SagaStatus.COMPLETED
    assert clock.slept == [4.0]
