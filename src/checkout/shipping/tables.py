"""The shipping database's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

from checkout.common.answers import answers_table
from checkout.common.tombstones import compensated_orders_table

metadata = sa.MetaData()

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # Not unique: one effect per order is enforced in code under the per-order lock, so
    # the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    sa.Column("order_id", sa.String(36), nullable=False, index=True),
    sa.Column("street", sa.String(200), nullable=False),
    sa.Column("city", sa.String(200), nullable=False),
    sa.Column("state", sa.String(200), nullable=False),
    sa.Column("postal_code", sa.String(200), nullable=False),
    sa.Column("country", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    # The key of the cancellation, for the record: a replayed cancel is answered from
    # the answers table before the rules run.
    sa.Column("cancel_idempotency_key", sa.String(200), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('created', 'cancelled')", name="ck_shipments_status"),
)

compensated_orders = compensated_orders_table(metadata)
answers = answers_table(metadata)
