"""Saga events: operators' actions (retry, abort) with who and when.

Revision ID: sagakit_0002
Revises: sagakit_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "sagakit_0002"
down_revision = "sagakit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sagakit_events",
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
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.Double, nullable=False),
    )
    op.create_index("ix_sagakit_events_saga_id", "sagakit_events", ["saga_id"])


def downgrade() -> None:
    op.drop_index("ix_sagakit_events_saga_id", "sagakit_events")
    op.drop_table("sagakit_events")
