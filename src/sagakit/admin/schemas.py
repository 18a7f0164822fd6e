"""The admin API's bodies: a saga's state, its attempts and the operators' actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sagakit.state import SagaStatus


class FailureOut(BaseModel):
    step: str
    direction: str
    code: str
    error: str


class SagaSummary(BaseModel):
    id: str
    name: str
    version: int
    status: SagaStatus
    subject: str | None = Field(
        description="Whom the saga is for, as the application names it (the checkout: "
        "its customer); None when the application names none"
    )
    step: str | None = Field(description="The step under the cursor (None once completed)")
    attempt: int
    failure: FailureOut | None
    compensation_failure: FailureOut | None
    waiting_until: datetime | None = Field(
        default=None,
        description="When the saga next goes on, if it is waiting: its last attempt failed "
        "(a participant down, a timeout) and it backs off, or its step waits for an event "
        "(`waiting_for`) until then",
    )
    waiting_for: str | None = Field(
        default=None,
        description="The event the step under the cursor waits for, its action done "
        "(`SagaEngine.send` delivers it); None when it waits for none",
    )
    created_at: datetime
    updated_at: datetime


class SagaPage(BaseModel):
    items: list[SagaSummary]
    total: int


class AttemptOut(BaseModel):
    step: str
    direction: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    error: str | None
    idempotency_key: str


class EventOut(BaseModel):
    kind: str
    actor: str
    at: datetime
    detail: str | None


class WaitOut(BaseModel):
    step: str
    event: str = Field(description="What the step waited for (a delay's timer, for a delay)")
    started_at: datetime = Field(description="When its action succeeded and the wait began")
    ended_at: datetime | None = Field(description="When the event or the timeout ended it")
    ended_by: str | None = Field(description="`event` or `timeout`; None while it waits")


class SagaDetail(SagaSummary):
    steps: list[str] = Field(description="The definition's steps, in forward order")
    input: dict[str, Any]
    results: dict[str, Any]
    deadline_at: datetime | None
    attempts: list[AttemptOut]
    events: list[EventOut]
    waits: list[WaitOut] = Field(
        default_factory=list, description="The waits of its steps, begun or ended"
    )


class StatusCounts(BaseModel):
    counts: dict[str, int]
    total: int
    waiting: dict[str, int] = Field(
        default_factory=dict,
        description="Running or compensating sagas waiting, by the step they wait on: to "
        "retry it, or for its event or delay",
    )


Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A filter's text: control characters (NUL above all, which PostgreSQL cannot compare)
are refused as invalid rather than failing in the database driver."""

MIN_ID_PREFIX = 4
"""As git's shortest abbreviation: fewer characters would match most sagas of a day."""

IdPrefix = Annotated[
    str,
    Field(
        min_length=MIN_ID_PREFIX,
        max_length=36,
        pattern=r"^[0-9a-fA-F-]+$",
        description="The first characters of a saga's id (hexadecimal digits and hyphens, "
        f"at least {MIN_ID_PREFIX}), as git takes a short commit id",
    ),
    AfterValidator(str.lower),
]


class SagaFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_prefix: IdPrefix | None = None
    status: SagaStatus | None = None
    definition: Text | None = None
    subject: Text | None = Field(
        default=None, description="Only the sagas of this subject (the checkout: a customer id)"
    )
    older_than_seconds: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    waiting: bool = Field(
        default=False, description="Only sagas waiting: to retry a step, or for an event"
    )
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class AbortRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] = "aborted by an operator"


class PruneRequest(BaseModel):
    """Delete finished sagas' history now, as a retention policy would."""

    model_config = ConfigDict(extra="forbid")

    older_than_seconds: float | None = Field(
        default=None,
        ge=0,
        le=10 * 365 * 86400,
        description="Finished sagas that finished longer ago than this go",
    )
    keep_last: int | None = Field(
        default=None, ge=0, description="Or: all but this many most recently finished go"
    )
    dry_run: bool = Field(default=False, description="Only count what would go")
    limit: int = Field(
        default=10_000,
        ge=1,
        le=100_000,
        description="At most this many sagas in this call; ``more`` says if some remain",
    )

    @model_validator(mode="after")
    def _bounded(self) -> PruneRequest:
        if self.older_than_seconds is None and self.keep_last is None:
            raise ValueError("give older_than_seconds, keep_last or both: what may go")
        return self


class PruneOut(BaseModel):
    dry_run: bool
    sagas: int = Field(description="Sagas deleted (or, in a dry run, that would be)")
    rows: int = Field(description="Rows deleted in all their tables (0 in a dry run)")
    more: bool = Field(description="Whether prunable sagas remain beyond ``limit``")
