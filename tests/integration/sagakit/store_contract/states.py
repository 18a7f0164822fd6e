"""Sagas and attempts for the contract, built by hand: the store is under test, not the
engine, so nothing here runs a step."""

from __future__ import annotations

import itertools

from sagakit import Direction, SagaState, SagaStatus
from sagakit.state import AttemptEnd, AttemptStart, AttemptStatus

_ids = itertools.count(1)


def new_saga(saga_id: str | None = None) -> SagaState:
    return SagaState(
        id=saga_id or f"saga-{next(_ids)}",
        name="checkout",
        version=1,
        status=SagaStatus.RUNNING,
        input={"total": "25.00", "items": [1, 2]},
        created_at=100.0,
        updated_at=100.0,
    )


def start_of(
    saga: SagaState,
    step: str = "payment",
    attempt: int = 1,
    direction: Direction = Direction.FORWARD,
) -> AttemptStart:
    return AttemptStart(
        saga_id=saga.id,
        step=step,
        direction=direction,
        attempt=attempt,
        idempotency_key=f"{saga.id}:{step}:{direction.value}",
        started_at=101.0 + attempt,
    )


def succeeded(result: dict[str, str] | None = None) -> AttemptEnd:
    return AttemptEnd(status=AttemptStatus.SUCCEEDED, finished_at=110.0, result=result)


def failed(error: str = "timed out") -> AttemptEnd:
    return AttemptEnd(status=AttemptStatus.FAILED, finished_at=110.0, error=error)
