"""What a chaos run is asked to do, and what it found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from checkout.books import Books
from checkout.chaos.clients import ClientCounts

LEASE_SECONDS = 6.0
"""Just longer than a checkout step may take (the engine refuses a shorter lease), so a
killed or paused orchestrator's sagas are taken over soon."""
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
    db_restarts: int = 0
    """Stops and starts of the PostgreSQL server while orders flow."""
    participant_kills: int = 0
    """Participants (payment, inventory, shipping) SIGKILLed and restarted."""
    backend: str = "sqlite"
    postgres_url: str | None = None
    """The server for the scratch databases: by default the one on 127.0.0.1:5432, or
    with ``db_restarts`` a private cluster the run creates and drops."""
    may_restart_server: bool = False
    """``db_restarts`` may restart ``postgres_url``, a server the run did not start."""
    db_down_seconds: tuple[float, float] = (3.0, 10.0)
    """How long each database restart keeps the server down (drawn in this range)."""
    participant_down_seconds: tuple[float, float] = (3.0, 15.0)
    """How long a killed participant stays down before it is started again; within
    what a compensation keeps retrying (about a minute), so the books can still close."""
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
        for name in ("sagas", "kills", "pauses", "db_restarts", "participant_kills"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        for name in ("db_down_seconds", "participant_down_seconds"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a range (low, high) with 0 <= low <= high")
        self._check_server()
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

    def _check_server(self) -> None:
        if self.db_restarts and self.backend != "postgresql":
            raise ValueError("--db-restarts restarts a PostgreSQL server: use --backend postgresql")
        if self.may_restart_server and self.postgres_url is None:
            raise ValueError("--i-may-restart-this-server needs the server: --postgres-url URL")
        if self.db_restarts and self.postgres_url is not None and not self.may_restart_server:
            raise ValueError(
                f"--db-restarts would stop and start {self.postgres_url}, a server this run "
                "did not start and others may be using. Leave --postgres-url out to let the "
                "run create a private cluster of its own, or, if nobody else needs that "
                "server, add --i-may-restart-this-server"
            )

    @property
    def private_server(self) -> bool:
        """Whether the run creates its own PostgreSQL cluster (to restart it)."""
        return self.db_restarts > 0 and self.postgres_url is None


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
    db_restarts: int = 0
    participant_kills: int = 0
    clients: ClientCounts = field(default_factory=ClientCounts)
    log_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    kept: str | None = None
    """Where ``--keep`` left the logs and databases."""

    @property
    def violations(self) -> list[str]:
        return self.books.violations

    @property
    def failed(self) -> bool:
        """Books broken, or a client answered with a 5xx that was not a 503."""
        return bool(self.violations) or self.clients.other_server_errors > 0

    def summary(self) -> str:
        return (
            f"chaos: {self.sagas} sagas, {self.kills} kills, {self.pauses} pauses, "
            f"{self.db_restarts} database restarts, {self.participant_kills} participant "
            f"kills, {self.faults} faults ({self.late_deliveries} late deliveries), "
            f"{self.restocks} restocks, {len(self.violations)} violations, "
            f"{self.clients.other_server_errors} server errors (5xx other than 503)"
        )
