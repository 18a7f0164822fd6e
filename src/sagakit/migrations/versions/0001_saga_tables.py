"""Saga instances and their attempts.

Revision ID: sagakit_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "sagakit_0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
ACTIVE = "status IN ('running', 'compensating')"


def upgrade() -> None:
    op.create_table(
        "sagakit_sagas",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", Json, nullable=False),
        sa.Column("results", Json, nullable=False),
        sa.Column("cursor", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("failure", Json),
        sa.Column("compensation_failure", Json),
        sa.Column("deadline_at", sa.Double),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_expires_at", sa.Double),
        sa.Column("fencing_token", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_at", sa.Double, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'compensating', 'completed', 'compensated', 'failed')",
            name="ck_sagakit_sagas_status",
        ),
    )
    op.create_index(
        "ix_sagakit_sagas_due",
        "sagakit_sagas",
        ["next_attempt_at"],
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )
    op.create_index("ix_sagakit_sagas_status_created", "sagakit_sagas", ["status", "created_at"])
    op.create_table(
        "sagakit_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "saga_id",
            sa.String(64),
            sa.ForeignKey("sagakit_sagas.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", Json),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("finished_at", sa.Double),
        sa.UniqueConstraint(
            "saga_id",
            "step",
            "direction",
            "attempt",
            name="uq_sagakit_attempts_saga_step_direction_attempt",
        ),
    )


def downgrade() -> None:
    op.drop_table("sagakit_attempts")
    op.drop_index("ix_sagakit_sagas_status_created", "sagakit_sagas")
    op.drop_index("ix_sagakit_sagas_due", "sagakit_sagas")
    op.drop_table("sagakit_sagas")
