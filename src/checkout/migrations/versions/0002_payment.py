"""Payment database: payments, refunds, compensated orders.

Revision ID: 0002_payment
Revises: 0001_orders
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0002_payment"
down_revision: str | Sequence[str] | None = "0001_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def upgrade_payment() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("payment_method", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('captured', 'refunded')", name="ck_payments_status"),
        sa.UniqueConstraint("idempotency_key", name="uq_payments_idempotency_key"),
    )
    # Not unique: one payment per order is enforced in code under the per-order lock,
    # so the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_refunds_idempotency_key"),
    )
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"])
    _create_compensated_orders()


def downgrade_payment() -> None:
    op.drop_table("compensated_orders")
    op.drop_table("refunds")
    op.drop_table("payments")


def _create_compensated_orders() -> None:
    op.create_table(
        "compensated_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_compensated_orders_idempotency_key"),
    )
