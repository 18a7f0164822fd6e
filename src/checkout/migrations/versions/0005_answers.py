"""Payment, inventory and shipping: the first answer under each idempotency key.

Revision ID: 0005_answers
Revises: 0004_shipping
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0005_answers"
down_revision: str | Sequence[str] | None = "0004_shipping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def _create_answers() -> None:
    op.create_table(
        "answers",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def _drop_answers() -> None:
    op.drop_table("answers")


upgrade_payment = upgrade_inventory = upgrade_shipping = _create_answers
downgrade_payment = downgrade_inventory = downgrade_shipping = _drop_answers
