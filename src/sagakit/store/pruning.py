"""Deleting the history of finished sagas in batches, on either database.

One batch is one transaction: choose the oldest prunable sagas (the finished-status
index makes that a range read), hand them to the application, delete their rows in
every table, then the sagas themselves. The last delete names the finished statuses
again, so a saga is deleted only as finished, whatever else happens at the time.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Delete, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sagakit.retention import OnPrune, Pruned, Retention
from sagakit.store.rows import to_state
from sagakit.store.statements import database_now
from sagakit.store.tables import FINISHED_STATUSES, attempts, events, sagas, signals

FINISHED = sagas.c.status.in_(FINISHED_STATUSES)


async def prune_batch(
    connection: AsyncConnection, retention: Retention, on_prune: OnPrune | None
) -> Pruned:
    prunable = await _prunable(connection, retention)
    if prunable is None:
        return Pruned()
    # Two processes pruning at once take different batches on PostgreSQL (SQLite has
    # one writer at a time anyway).
    chosen = (
        select(sagas)
        .where(prunable)
        .order_by(sagas.c.updated_at)
        .limit(retention.batch)
        .with_for_update(skip_locked=True)
    )
    states = [to_state(row) for row in (await connection.execute(chosen)).all()]
    if not states:
        return Pruned()
    if on_prune is not None:
        await on_prune(connection, states)
    ids = [state.id for state in states]
    rows = 0
    for table in (attempts, events, signals):
        rows += await _deleted(connection, delete(table).where(table.c.saga_id.in_(ids)))
    gone = await _deleted(connection, delete(sagas).where(sagas.c.id.in_(ids), FINISHED))
    return Pruned(gone, rows + gone)


async def count_prunable(connection: AsyncConnection, retention: Retention) -> int:
    prunable = await _prunable(connection, retention)
    if prunable is None:
        return 0
    count = select(func.count()).select_from(sagas).where(prunable)
    return int((await connection.execute(count)).scalar_one())


async def oldest_finished(connection: AsyncConnection) -> float | None:
    oldest = select(func.min(sagas.c.updated_at)).where(FINISHED)
    found = (await connection.execute(oldest)).scalar_one_or_none()
    return None if found is None else float(found)


async def _prunable(
    connection: AsyncConnection, retention: Retention
) -> ColumnElement[bool] | None:
    """Which sagas go: finished, and before the later of the two bounds (a saga goes if
    either says so); None when nothing does."""
    bounds: list[float] = []
    if retention.keep_for is not None:
        now = (await connection.execute(select(database_now()))).scalar_one()
        bounds.append(float(now) - retention.keep_for.total_seconds())
    if retention.keep_last == 0:
        return FINISHED
    if retention.keep_last is not None:
        newest_kept = await _last_kept(connection, retention.keep_last)
        if newest_kept is not None:
            bounds.append(newest_kept)
    return FINISHED & (sagas.c.updated_at < max(bounds)) if bounds else None


async def _last_kept(connection: AsyncConnection, keep: int) -> float | None:
    """When the ``keep``-th most recently finished saga finished: those before it go
    (on a tie, more are kept). None when fewer have finished."""
    newest = (
        select(sagas.c.updated_at)
        .where(FINISHED)
        .order_by(sagas.c.updated_at.desc())
        .offset(keep - 1)
        .limit(1)
    )
    found = (await connection.execute(newest)).scalar_one_or_none()
    return None if found is None else float(found)


async def _deleted(connection: AsyncConnection, statement: Delete) -> int:
    return int((await connection.execute(statement)).rowcount)
