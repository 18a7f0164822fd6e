"""Attempt numbers keep counting up after an operator's retry; the retry budget starts
again from ``attempt_base``.

Revision ID: sagakit_0003
Revises: sagakit_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "sagakit_0003"
down_revision = "sagakit_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.add_column(sa.Column("attempt_base", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.drop_column("attempt_base")
