"""The inventory database's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

from checkout.common.answers import answers_table
from checkout.common.tombstones import compensated_orders_table

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", sa.String(200), primary_key=True),
    sa.Column("available", sa.Integer, nullable=False),
    sa.CheckConstraint("available >= 0", name="ck_products_available_not_negative"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # Not unique: one effect per order is enforced in code under the per-order lock, so
    # the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    sa.Column("order_id", sa.String(36), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    # The key of the release that undid it, for the record: a replayed release is
    # answered from the answers table before the rules run.
    sa.Column("release_idempotency_key", sa.String(200), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('reserved', 'released')", name="ck_reservations_status"),
)

reservation_lines = sa.Table(
    "reservation_lines",
    metadata,
    sa.Column("reservation_id", sa.String(36), sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("product_id", sa.String(200), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
)

compensated_orders = compensated_orders_table(metadata)
answers = answers_table(metadata)
