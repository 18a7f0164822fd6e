"""A saga instance as the store keeps it: one row of state plus append-only attempts.

The state is a cursor over the definition's steps. While ``running`` it points at the
next forward step (the first member of a ``Parallel`` group, whose members each keep
their own count in ``members``); while ``compensating`` at the next step to undo,
walking back to the first; when ``failed`` at the compensation that gave up, so an
operator's retry resumes exactly there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sagakit.definition import JSON, Direction


class SagaStatus(StrEnum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """No process drives a saga in a terminal status (``failed`` waits for an operator)."""
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        return not self.is_terminal


_TERMINAL = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED})


class AttemptStatus(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"
    """The process died (or lost its lease) after the attempt began: outcome unknown."""


@dataclass(frozen=True, kw_only=True)
class Failure:
    """Why a saga stopped going forward, or why a compensation gave up."""

    step: str
    direction: Direction
    error: str
    code: str

    def to_json(self) -> dict[str, str]:
        return {
            "step": self.step,
            "direction": self.direction.value,
            "error": self.error,
            "code": self.code,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Failure | None:
        if data is None:
            return None
        return cls(
            step=data["step"],
            direction=Direction(data["direction"]),
            error=data["error"],
            code=data["code"],
        )


@dataclass(frozen=True, kw_only=True)
class MemberProgress:
    """How far one member of a ``Parallel`` group has got going forward."""

    attempts: int = 0
    """Attempts begun: each is written ahead with this count, so a successor numbers
    the next one after them."""
    retry_at: float | None = None
    """When its next attempt is due, after a failure it backs off from; None: now."""

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "retry_at": self.retry_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemberProgress:
        return cls(attempts=data["attempts"], retry_at=data.get("retry_at"))


def members_to_json(members: dict[str, MemberProgress]) -> dict[str, Any] | None:
    """As stored: None when the saga is at no group, which most writes are."""
    return {name: member.to_json() for name, member in members.items()} or None


def members_from_json(data: dict[str, Any] | None) -> dict[str, MemberProgress]:
    return {name: MemberProgress.from_json(member) for name, member in (data or {}).items()}


@dataclass(frozen=True, kw_only=True)
class SagaState:
    id: str
    name: str
    version: int
    status: SagaStatus
    input: dict[str, JSON]
    results: dict[str, JSON] = field(default_factory=dict)
    cursor: int = 0
    attempt: int = 0
    """The number of the last attempt begun at the current cursor and direction."""
    attempt_base: int = 0
    """Attempts made before the current retry budget: an operator's retry gives the
    compensation a fresh budget while attempt numbers keep counting up."""
    failure: Failure | None = None
    compensation_failure: Failure | None = None
    deadline_at: float | None = None
    fencing_token: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    wait_until: float | None = None
    """Set while the step under the cursor, its action done, waits for its event: when
    the wait times out. None otherwise."""
    members: dict[str, MemberProgress] = field(default_factory=dict)
    """While the cursor is at a ``Parallel`` group, and once it failed: each attempted
    member's progress, by name (``attempt`` stays 0 there). A member succeeded once its
    name is in ``results``."""
    retry_at: float | None = None
    """Read-only, from the store: when it will offer the saga for its next attempt, if
    that is still ahead. The saga is *waiting*: its last attempt failed (a participant
    down, a timeout) and it backs off. None while it is not waiting."""

    @property
    def attempts_in_budget(self) -> int:
        return self.attempt - self.attempt_base

    @property
    def direction(self) -> Direction:
        return Direction.COMPENSATE if self.status in _BACKWARD else Direction.FORWARD

    def evolve(self, **changes: Any) -> SagaState:
        return replace(self, **changes)


_BACKWARD = frozenset({SagaStatus.COMPENSATING, SagaStatus.FAILED, SagaStatus.COMPENSATED})


@dataclass(frozen=True, kw_only=True)
class AttemptStart:
    """Written before an action runs: the write-ahead half of an attempt."""

    saga_id: str
    step: str
    direction: Direction
    attempt: int
    idempotency_key: str
    started_at: float


@dataclass(frozen=True, kw_only=True)
class AttemptEnd:
    """Written after the action returned or raised, with the saga's next state."""

    status: AttemptStatus
    finished_at: float
    result: JSON = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    """One row of a saga's history."""

    saga_id: str
    step: str
    direction: Direction
    attempt: int
    idempotency_key: str
    status: AttemptStatus
    started_at: float
    finished_at: float | None = None
    result: JSON = None
    error: str | None = None

    @classmethod
    def of(cls, start: AttemptStart, end: AttemptEnd | None = None) -> AttemptRecord:
        """The row of an attempt begun (still ``started`` without ``end``) or finished."""
        return cls(
            saga_id=start.saga_id,
            step=start.step,
            direction=start.direction,
            attempt=start.attempt,
            idempotency_key=start.idempotency_key,
            status=end.status if end else AttemptStatus.STARTED,
            started_at=start.started_at,
            finished_at=end.finished_at if end else None,
            result=end.result if end else None,
            error=end.error if end else None,
        )


@dataclass(frozen=True)
class DriveResult:
    """Where a saga rests when an engine lets go of it, with the attempts it made.

    ``history`` is every attempt of the saga when this engine made them all (it
    started the saga and drove it without a break), so the caller needs no read to
    show it; otherwise it is None.
    """

    state: SagaState
    history: tuple[AttemptRecord, ...] | None


@dataclass(frozen=True, kw_only=True)
class SagaEvent:
    """Something done to a saga from outside its steps: an operator's retry or abort."""

    saga_id: str
    kind: str
    actor: str
    at: float
    detail: str | None = None


class SignalKind(StrEnum):
    EVENT = "event"
    """Sent to the saga: ``engine.send``."""
    TIMEOUT = "timeout"
    """Recorded by the engine when the wait for the event ran out first."""


@dataclass(frozen=True, kw_only=True)
class Signal:
    """What ended, or will end, a saga's wait for the event ``name``.

    A saga keeps one signal per event name, and the first recorded is final: the same
    event sent again is a duplicate (same ``key``), another event under that name is
    refused, and an event that arrives after the wait timed out finds the timeout there.
    So an event and the timeout cannot both win, whatever their timing.
    """

    saga_id: str
    name: str
    kind: SignalKind
    key: str
    """Tells a duplicate from another event: the sender's, or the payload's digest."""
    payload: JSON = None
    sender: str = "engine"
    at: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """The signal a saga holds under an event's name after a delivery, and whether this
    delivery is what put it there (False: a duplicate, or too late)."""

    signal: Signal
    recorded: bool
