"""The payment database's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

from checkout.common.answers import answers_table
from checkout.common.tombstones import compensated_orders_table

metadata = sa.MetaData()

PAYMENT_STATUSES = ("captured", "refunded", "requires_confirmation", "declined", "voided")
"""Money taken: ``captured`` (then perhaps ``refunded``). A card that asks its holder
first: ``requires_confirmation`` until they answer (``captured`` or ``declined``) or the
order gives up (``voided``); the last two never took any money."""
MONEY_TAKEN = ("captured", "refunded")

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
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("challenge_id", sa.String(36), nullable=True, unique=True),
    # The card holder's answer, kept apart from the status: a confirmed payment may be
    # refunded later and still have been confirmed.
    sa.Column("challenge_answer", sa.String(16), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        f"status IN ({', '.join(repr(status) for status in PAYMENT_STATUSES)})",
        name="ck_payments_status",
    ),
    sa.CheckConstraint(
        "challenge_answer IS NULL OR challenge_answer IN ('confirmed', 'declined')",
        name="ck_payments_challenge_answer",
    ),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False, index=True
    ),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
    # One notice per challenge: its first answer, which is final.
    sa.Column("challenge_id", sa.String(36), nullable=False, unique=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    # What the order service made of it: ``accepted``, or why it refused it for good.
    sa.Column("delivery", sa.String(200), nullable=True),
)
"""The customers' answers to be told to the order service: written in the transaction
that records the answer (an outbox), delivered by :mod:`checkout.payment.webhooks`."""

compensated_orders = compensated_orders_table(metadata)
answers = answers_table(metadata)
