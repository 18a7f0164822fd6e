"""Orders database: the outcome of an order whose saga history was pruned.

Revision ID: 0007_order_outcomes
Revises: 0006_card_3ds
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0007_order_outcomes"
down_revision: str | Sequence[str] | None = "0006_card_3ds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def upgrade_orders() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("outcome_failure", sa.JSON, nullable=True))
        batch.add_column(sa.Column("history_pruned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade_orders() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("history_pruned_at")
        batch.drop_column("outcome_failure")
        batch.drop_column("outcome")
