"""The payment database's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

from checkout.common.answers import answers_table
from checkout.common.tombstones import compensated_orders_table

metadata = sa.MetaData()

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # Not unique: one effect per order is enforced in code under the per-order lock, so
    # the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    sa.Column("order_id", sa.String(36), nullable=False, index=True),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("payment_method", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('captured', 'refunded')", name="ck_payments_status"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

compensated_orders = compensated_orders_table(metadata)
answers = answers_table(metadata)
