"""Payment, inventory and shipping: answers and tombstones say when they may be forgotten.

``expires_at`` is the key's Issued-At plus the retention (checkout.common.key_expiry);
rows written before this revision have none and are kept for good.

Revision ID: 0008_key_expiry
Revises: 0007_order_outcomes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0008_key_expiry"
down_revision: str | Sequence[str] | None = "0007_order_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRING = ("answers", "compensated_orders")


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def _add_expires_at() -> None:
    for table in EXPIRING:
        op.add_column(table, sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        op.create_index(f"ix_{table}_expires_at", table, ["expires_at"])


def _drop_expires_at() -> None:
    # Dropping the column keeps every row: they are simply kept for good again.
    for table in EXPIRING:
        op.drop_index(f"ix_{table}_expires_at", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("expires_at")


upgrade_payment = upgrade_inventory = upgrade_shipping = _add_expires_at
downgrade_payment = downgrade_inventory = downgrade_shipping = _drop_expires_at
