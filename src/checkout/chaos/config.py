"""What a chaos run is asked to do, and what it found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from checkout.books import Books
from checkout.chaos.databases import DEFAULT_POSTGRES_URL

LEASE_SECONDS = 3.0
CALL_TIMEOUT_SECONDS = 1.0
LATE_HANG_SECONDS = 5 * CALL_TIMEOUT_SECONDS
"""Long enough that a hung request lands after the orchestrator retried it, and most
often after the saga moved on: completed, or refused and compensated."""


@dataclass(frozen=True, kw_only=True)
class ChaosConfig:
    sagas: int = 300
    concurrency: int = 16
    kills: int = 3
    pauses: int = 0
    backend: str = "sqlite"
    postgres_url: str = DEFAULT_POSTGRES_URL
    orchestrators: int = 1
    error_rate: float = 0.03
    timeout_rate: float = 0.05
    """Share of the participants' POSTs that hang ``hang_seconds`` and then act: late
    deliveries. About one saga in six meets one."""
    hang_seconds: float = LATE_HANG_SECONDS
    fail_after_commit_rate: float = 0.03
    idempotency_disabled: bool = False
    seed: int = 1
    settle_timeout: float = 300.0
    show_progress: bool = True
    keep: Path | None = None
    """Keep the services' logs and the databases here (PostgreSQL's stay on the server)."""

    def __post_init__(self) -> None:
        if self.pauses and self.orchestrators < 2:
            raise ValueError(
                "pausing an orchestrator needs another one to take over: "
                "use --orchestrators 2 or more"
            )
        if self.hang_seconds <= CALL_TIMEOUT_SECONDS:
            raise ValueError(
                f"hang_seconds must pass the orchestrator's call timeout "
                f"({CALL_TIMEOUT_SECONDS:g}s), or hung requests are not late deliveries"
            )
        if self.keep is not None and self.keep.exists() and any(self.keep.iterdir()):
            raise ValueError(
                f"--keep {self.keep}: the folder is not empty, and a run must not mix its "
                "databases and logs with another's; name a new or empty folder"
            )


@dataclass
class ChaosResult:
    sagas: int
    kills: int
    pauses: int
    faults: int
    """Faults injected, late deliveries included."""
    late_deliveries: int
    """Requests that hung past the orchestrator's timeout, then acted."""
    restocks: int
    books: Books
    log_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    kept: str | None = None
    """Where ``--keep`` left the logs and databases."""

    @property
    def violations(self) -> list[str]:
        return self.books.violations

    def summary(self) -> str:
        return (
            f"chaos: {self.sagas} sagas, {self.kills} kills, {self.pauses} pauses, "
            f"{self.faults} faults ({self.late_deliveries} late deliveries), "
            f"{self.restocks} restocks, {len(self.violations)} violations"
        )
