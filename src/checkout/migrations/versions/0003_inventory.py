"""Inventory database: products (seeded with product1..product10), reservations.

Revision ID: 0003_inventory
Revises: 0002_payment
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0003_inventory"
down_revision: str | Sequence[str] | None = "0002_payment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


SEED_PRODUCTS = [{"product_id": f"product{n}", "available": 1000} for n in range(1, 11)]


def upgrade_inventory() -> None:
    products = op.create_table(
        "products",
        sa.Column("product_id", sa.String(200), primary_key=True),
        sa.Column("available", sa.Integer, nullable=False),
        sa.CheckConstraint("available >= 0", name="ck_products_available_not_negative"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("release_idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('reserved', 'released')", name="ck_reservations_status"),
        sa.UniqueConstraint("idempotency_key", name="uq_reservations_idempotency_key"),
        sa.UniqueConstraint(
            "release_idempotency_key", name="uq_reservations_release_idempotency_key"
        ),
    )
    # Not unique: one reservation per order is enforced in code under the per-order lock,
    # so the test-only IDEMPOTENCY_DISABLED switch can produce a real double effect.
    op.create_index("ix_reservations_order_id", "reservations", ["order_id"])
    op.create_table(
        "reservation_lines",
        sa.Column(
            "reservation_id", sa.String(36), sa.ForeignKey("reservations.id"), primary_key=True
        ),
        sa.Column("product_id", sa.String(200), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    op.create_table(
        "compensated_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_compensated_orders_idempotency_key"),
    )
    # The catalogue the checkout starts with: product1 ... product10, 1000 units each.
    op.bulk_insert(products, SEED_PRODUCTS)


def downgrade_inventory() -> None:
    op.drop_table("compensated_orders")
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
    op.drop_table("products")
