"""An index of finished sagas by the time they finished, for pruning their history
oldest first without reading the active ones.

Revision ID: sagakit_0007
Revises: sagakit_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "sagakit_0007"
down_revision = "sagakit_0006"
branch_labels = None
depends_on = None

FINISHED = sa.text("status IN ('completed', 'compensated')")


def upgrade() -> None:
    op.create_index(
        "ix_sagakit_sagas_finished",
        "sagakit_sagas",
        ["updated_at"],
        postgresql_where=FINISHED,
        sqlite_where=FINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_sagakit_sagas_finished", table_name="sagakit_sagas")
