"""Parallel groups: each member's attempts and retry time while its group runs.

Revision ID: sagakit_0006
Revises: sagakit_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "sagakit_0006"
down_revision = "sagakit_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.add_column(
            sa.Column(
                "members",
                sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sagakit_sagas") as batch:
        batch.drop_column("members")
