"""The values the statements in ``statements`` take, by parameter name, from the
engine's records: one function per group of parameters, shared by every transport."""

from __future__ import annotations

from typing import Any

from sagakit.state import (
    AttemptEnd,
    AttemptStart,
    SagaEvent,
    SagaState,
    Signal,
    members_to_json,
)


def saga_params(state: SagaState, *, owner: str, lease: float) -> dict[str, Any]:
    return {
        **progress_params(state),
        "saga": state.id,
        "name": state.name,
        "version": state.version,
        "status": state.status.value,
        "input": state.input,
        "deadline_at": state.deadline_at,
        "owner": owner,
        "token": state.fencing_token,
        "created_at": state.created_at,
        "lease": lease,
    }


def progress_params(state: SagaState) -> dict[str, Any]:
    failure, gave_up = state.failure, state.compensation_failure
    return {
        "results": state.results,
        "cursor": state.cursor,
        "attempt": state.attempt,
        "attempt_base": state.attempt_base,
        "failure": failure.to_json() if failure else None,
        "compensation_failure": gave_up.to_json() if gave_up else None,
        "wait_until": state.wait_until,
        "members": members_to_json(state.members) if state.members else None,
        "updated_at": state.updated_at,
    }


def state_params(
    state: SagaState, *, retry_seconds: float, release: bool, lease: float
) -> dict[str, Any]:
    return {
        **progress_params(state),
        "status": state.status.value,
        "retry_seconds": retry_seconds,
        "release_lease": release or state.status.is_terminal,
        "lease": lease,
    }


def fencing_params(state: SagaState) -> dict[str, Any]:
    return {"saga": state.id, "token": state.fencing_token}


def started_params(start: AttemptStart) -> dict[str, Any]:
    return {
        "saga": start.saga_id,
        "start_step": start.step,
        "start_direction": start.direction.value,
        "start_attempt": start.attempt,
        "start_key": start.idempotency_key,
        "start_started_at": start.started_at,
    }


def finished_params(start: AttemptStart, end: AttemptEnd) -> dict[str, Any]:
    return {
        "saga": start.saga_id,
        "finished_step": start.step,
        "finished_direction": start.direction.value,
        "finished_attempt": start.attempt,
        "outcome": end.status.value,
        "finished_at": end.finished_at,
        "result": end.result,
        "error": end.error,
    }


def event_params(event: SagaEvent) -> dict[str, Any]:
    return {
        "saga_id": event.saga_id,
        "kind": event.kind,
        "actor": event.actor,
        "detail": event.detail,
        "at": event.at,
    }


def signal_params(signal: Signal) -> dict[str, Any]:
    return {
        "signal_saga_id": signal.saga_id,
        "signal_name": signal.name,
        "signal_kind": signal.kind.value,
        "signal_key": signal.key,
        "signal_payload": signal.payload,
        "signal_sender": signal.sender,
        "signal_at": signal.at,
    }
