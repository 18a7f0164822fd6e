"""The store's rows read back as the engine's records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from sagakit.definition import Direction
from sagakit.state import (
    AttemptRecord,
    AttemptStatus,
    Failure,
    SagaState,
    SagaStatus,
    Signal,
    SignalKind,
    members_from_json,
)


def to_state(row: Row[Any]) -> SagaState:
    return SagaState(
        id=row.id,
        name=row.name,
        version=row.version,
        status=SagaStatus(row.status),
        input=row.input,
        results=row.results,
        cursor=row.cursor,
        attempt=row.attempt,
        attempt_base=row.attempt_base,
        failure=Failure.from_json(row.failure),
        compensation_failure=Failure.from_json(row.compensation_failure),
        deadline_at=row.deadline_at,
        wait_until=row.wait_until,
        members=members_from_json(row.members),
        fencing_token=row.fencing_token,
        created_at=row.created_at,
        updated_at=row.updated_at,
        retry_at=row.next_attempt_at if getattr(row, "waiting", False) else None,
    )


def to_attempt(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(
        saga_id=row.saga_id,
        step=row.step,
        direction=Direction(row.direction),
        attempt=row.attempt,
        idempotency_key=row.idempotency_key,
        status=AttemptStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=row.result,
        error=row.error,
    )


def to_signal(row: Row[Any]) -> Signal:
    return Signal(
        saga_id=row.saga_id,
        name=row.name,
        kind=SignalKind(row.kind),
        key=row.key,
        payload=row.payload,
        sender=row.sender,
        at=row.at,
    )
