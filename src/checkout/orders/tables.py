"""The orders database: orders and their items. The saga tables live beside them.

An order has no status column: its status is its saga's, read through a join, so the
two can never disagree. When a finished saga's history is pruned, its outcome (final and
never to change) is copied onto the order in the deleting transaction (``outcome``), so
the order still tells how it ended.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("payment_method", String(32), nullable=False),
    Column("shipping_address", JSON, nullable=False),
    Column("idempotency_key", String(200)),
    Column("request_fingerprint", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16)),
    Column("outcome_failure", JSON),
    Column("history_pruned_at", DateTime(timezone=True)),
    UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
    Index("ix_orders_customer_id", "customer_id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("product_id", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("quantity", Integer, nullable=False),
)
