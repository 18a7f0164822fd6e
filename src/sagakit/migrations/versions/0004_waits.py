"""Steps that wait for an event: when the wait times out, and the signals that end it.

Revision ID: sagakit_0004
Revises: sagakit_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "sagakit_0004"
down_revision = "sagakit_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.add_column(sa.Column("wait_until", sa.Double))
    op.create_table(
        "sagakit_signals",
        sa.Column(
            "saga_id",
            sa.String(64),
            sa.ForeignKey("sagakit_sagas.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column(
            "payload",
            sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
        ),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.CheckConstraint("kind IN ('event', 'timeout')", name="ck_sagakit_signals_kind"),
    )


def downgrade() -> None:
    op.drop_table("sagakit_signals")
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.drop_column("wait_until")
