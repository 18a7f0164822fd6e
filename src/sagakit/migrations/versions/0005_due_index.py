"""The due index leads with the status, so that finding due sagas reads only the due
range of each active status on SQLite too, however many sagas wait.

Revision ID: sagakit_0005
Revises: sagakit_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "sagakit_0005"
down_revision = "sagakit_0004"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('running', 'compensating')")


def upgrade() -> None:
    op.drop_index("ix_sagakit_sagas_due", table_name="sagakit_sagas")
    op.create_index(
        "ix_sagakit_sagas_due",
        "sagakit_sagas",
        ["status", "next_attempt_at"],
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_sagakit_sagas_due", table_name="sagakit_sagas")
    op.create_index(
        "ix_sagakit_sagas_due",
        "sagakit_sagas",
        ["next_attempt_at"],
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
