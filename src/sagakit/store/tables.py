"""The store's tables: one row per saga, its append-only history of attempts and of
what was done to it from outside, and the signals that end its waits.

Times are seconds since the epoch (double precision) so the same arithmetic works on
SQLite and PostgreSQL; leases and schedules are compared with the database's clock,
never a process's, so processes with drifting clocks agree on who holds a saga.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

ACTIVE_STATUSES = ("running", "compensating")
FINISHED_STATUSES = ("completed", "compensated")

sagas = Table(
    "sagakit_sagas",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", Json, nullable=False),
    Column("results", Json, nullable=False),
    Column("cursor", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempt_base", Integer, nullable=False, server_default="0"),
    Column("failure", Json),
    Column("compensation_failure", Json),
    Column("deadline_at", Double),
    Column("wait_until", Double),
    Column("members", Json),
    Column("owner", String(200)),
    Column("lease_expires_at", Double),
    Column("fencing_token", BigInteger, nullable=False),
    Column("next_attempt_at", Double, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    CheckConstraint(
        "status IN ('running', 'compensating', 'completed', 'compensated', 'failed')",
        name="ck_sagakit_sagas_status",
    ),
)

# Status first: SQLite's planner, with no statistics, would otherwise read the active
# sagas through the status index and sort them all; with it, both databases read only
# the due range of each active status.
Index(
    "ix_sagakit_sagas_due",
    sagas.c.status,
    sagas.c.next_attempt_at,
    postgresql_where=sagas.c.status.in_(ACTIVE_STATUSES),
    sqlite_where=sagas.c.status.in_(ACTIVE_STATUSES),
)
Index("ix_sagakit_sagas_status_created", sagas.c.status, sagas.c.created_at)
# Pruning reads the oldest finished sagas first (sagakit.retention).
Index(
    "ix_sagakit_sagas_finished",
    sagas.c.updated_at,
    postgresql_where=sagas.c.status.in_(FINISHED_STATUSES),
    sqlite_where=sagas.c.status.in_(FINISHED_STATUSES),
)

attempts = Table(
    "sagakit_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "saga_id", String(64), ForeignKey("sagakit_sagas.id", ondelete="CASCADE"), nullable=False
    ),
    Column("step", String(200), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("idempotency_key", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("result", Json),
    Column("error", Text),
    Column("started_at", Double, nullable=False),
    Column("finished_at", Double),
    UniqueConstraint(
        "saga_id",
        "step",
        "direction",
        "attempt",
        name="uq_sagakit_attempts_saga_step_direction_attempt",
    ),
)

events = Table(
    "sagakit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "saga_id", String(64), ForeignKey("sagakit_sagas.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", Text),
    Column("at", Double, nullable=False),
    Index("ix_sagakit_events_saga_id", "saga_id"),
)

signals = Table(
    "sagakit_signals",
    metadata,
    Column(
        "saga_id", String(64), ForeignKey("sagakit_sagas.id", ondelete="CASCADE"), primary_key=True
    ),
    # One signal per event name: the key makes the first recorded final, whether it is
    # the event or the engine's timeout.
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("key", String(300), nullable=False),
    Column("payload", Json),
    Column("sender", String(200), nullable=False),
    Column("at", Double, nullable=False),
    CheckConstraint("kind IN ('event', 'timeout')", name="ck_sagakit_signals_kind"),
)
