"""Remember orders whose compensation arrived before (or instead of) the forward action.

If a forward call times out, the orchestrator compensates; the compensation finds
nothing to undo and answers "nothing to ..." . But the timed-out call may still be
running and act a moment later, leaving an effect nobody will ever undo. So a no-op
compensation leaves a tombstone, and a forward action for a tombstoned order is refused
with 409 ``order_compensated``. Both sides take the per-order lock first
(:func:`checkout.common.database.lock_order`), so neither can slip between the other's
check and write.

A tombstone is needed only while its saga's forward requests can still act, so it
expires with the keys of the compensation that left it (issued_at + retention, see
:mod:`checkout.common.key_expiry`), or never when that carried no Issued-At.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from checkout.common.refusals import BusinessError


def compensated_orders_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "compensated_orders",
        metadata,
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # When it may be forgotten (checkout.common.pruning); NULL: kept for good.
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, index=True),
    )


def write_once(connection: Connection, statement: sa.Executable) -> bool:
    """Run ``statement`` in a savepoint; False when a unique index refused it.

    The savepoint keeps the surrounding transaction usable (PostgreSQL aborts a whole
    transaction on error), so the caller can re-read the row that won the race.
    """
    try:
        with connection.begin_nested():
            connection.execute(statement)
    except IntegrityError:
        return False
    return True


def is_compensated(connection: Connection, table: sa.Table, order_id: str) -> bool:
    query = sa.select(table.c.order_id).where(table.c.order_id == order_id)
    return (connection.execute(query)).first() is not None


def record_compensated(
    connection: Connection,
    table: sa.Table,
    *,
    order_id: str,
    idempotency_key: str,
    expires_at: datetime | None,
) -> None:
    """Leave the tombstone once; a second no-op compensation keeps the first."""
    if is_compensated(connection, table, order_id):
        return
    statement = table.insert().values(
        order_id=order_id,
        idempotency_key=idempotency_key,
        created_at=datetime.now(UTC),
        expires_at=expires_at,
    )
    write_once(connection, statement)


def refuse_if_compensated(connection: Connection, table: sa.Table, order_id: str) -> None:
    if is_compensated(connection, table, order_id):
        raise BusinessError(
            409,
            "order_compensated",
            "This order was already compensated; it cannot be acted on again.",
        )
