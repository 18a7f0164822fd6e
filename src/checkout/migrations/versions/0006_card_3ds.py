"""Payment database: cards that ask their holder to confirm (3-D Secure), and the outbox
of their answers for the order service.

Revision ID: 0006_card_3ds
Revises: 0005_answers
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkout.migrations.dispatch import run_step

revision: str = "0006_card_3ds"
down_revision: str | Sequence[str] | None = "0005_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "('captured', 'refunded', 'requires_confirmation', 'declined', 'voided')"


def upgrade(engine_name: str) -> None:
    run_step("upgrade", engine_name, globals())


def downgrade(engine_name: str) -> None:
    run_step("downgrade", engine_name, globals())


def upgrade_payment() -> None:
    # Batch mode: SQLite changes a check constraint only by copying the table.
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("ck_payments_status", type_="check")
        batch.alter_column("status", type_=sa.String(32), existing_nullable=False)
        batch.add_column(sa.Column("challenge_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("challenge_answer", sa.String(16), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("ck_payments_status", f"status IN {STATUSES}")
        batch.create_check_constraint(
            "ck_payments_challenge_answer",
            "challenge_answer IS NULL OR challenge_answer IN ('confirmed', 'declined')",
        )
        batch.create_unique_constraint("uq_payments_challenge_id", ["challenge_id"])
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("challenge_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery", sa.String(200), nullable=True),
        sa.UniqueConstraint("challenge_id", name="uq_payment_events_challenge_id"),
    )
    op.create_index("ix_payment_events_next_attempt_at", "payment_events", ["next_attempt_at"])


def downgrade_payment() -> None:
    # Payment records are never dropped to make a downgrade fit: one that the older
    # schema cannot hold stops it, for a person to decide.
    unknown = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM payments WHERE status NOT IN ('captured', 'refunded')")
    )
    if unknown:
        raise RuntimeError(
            f"{unknown} payments are in statuses revision 0005 does not know "
            "(requires_confirmation, declined, voided): settle or archive them first"
        )
    op.drop_table("payment_events")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_challenge_id", type_="unique")
        batch.drop_constraint("ck_payments_challenge_answer", type_="check")
        batch.drop_constraint("ck_payments_status", type_="check")
        batch.drop_column("voided_at")
        batch.drop_column("answered_at")
        batch.drop_column("challenge_answer")
        batch.drop_column("challenge_id")
        batch.alter_column("status", type_=sa.String(16), existing_nullable=False)
        batch.create_check_constraint("ck_payments_status", "status IN ('captured', 'refunded')")
