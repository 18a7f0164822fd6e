"""Shipping database: shipments, compensated orders.

Revision ID: 0004_shipping
Revises: 0003_inventory
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0004_shipping"
down_revision: str | Sequence[str] | None = "0003_inventory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def upgrade_shipping() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("city", sa.String(200), nullable=False),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("postal_code", sa.String(200), nullable=False),
        sa.Column("country", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("cancel_idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('created', 'cancelled')", name="ck_shipments_status"),
        sa.UniqueConstraint("idempotency_key", name="uq_shipments_idempotency_key"),
        sa.UniqueConstraint("cancel_idempotency_key", name="uq_shipments_cancel_idempotency_key"),
    )
    # Not unique: one shipment per order is enforced in code under the per-order lock,
    # so the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_table(
        "compensated_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_compensated_orders_idempotency_key"),
    )


def downgrade_shipping() -> None:
    op.drop_table("compensated_orders")
    op.drop_table("shipments")
