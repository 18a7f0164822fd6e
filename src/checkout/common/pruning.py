"""Forgetting what expired: the answers and tombstones past their ``expires_at``.

Why deleting them then is safe is in :mod:`checkout.common.key_expiry`. A participant
prunes in the background every ``KEY_PRUNE_INTERVAL_SECONDS``, in batches of
:data:`BATCH` rows, each its own short transaction, so neither database holds its locks
(SQLite's one write lock above all) for long. A pass that fails, the database being
down say, is logged in one line and tried again at the next interval: the rows wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Connection

from sagakit.unavailable import OutageLog, is_unavailable

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("checkout.pruning")

BATCH = 500
"""Rows deleted per transaction."""

Forgotten = Callable[[str, int], None]
"""Told the table and the number of rows each batch deleted."""


class Transactions(Protocol):
    """A database as the pruner uses it: one transaction per call
    (:meth:`checkout.common.database.Database.run`)."""

    async def run(
        self,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T: ...


def delete_expired(connection: Connection, table: sa.Table, *, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` rows of ``table`` that expired before ``now``; how many.

    Rows without ``expires_at`` are kept for good. The batch is chosen by primary key in
    a subquery, which both SQLite and PostgreSQL take in a ``DELETE``.
    """
    [key] = table.primary_key.columns
    expired = sa.select(key).where(table.c.expires_at < now).limit(limit).scalar_subquery()
    deleted: int = connection.execute(table.delete().where(key.in_(expired))).rowcount
    return deleted


def forgotten_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "checkout_idempotency_records_forgotten",
        "Expired idempotency answers and tombstones deleted, by table.",
        ["table"],
        registry=registry,
    )


class KeyPruner:
    """Deletes the expired rows of ``tables``: once on demand, or every ``interval``
    while ``running``. ``clock`` is this participant's, in Unix seconds."""

    def __init__(
        self,
        *,
        database: Transactions,
        tables: Sequence[sa.Table],
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
        forgotten: Forgotten = lambda _table, _rows: None,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._database, self._tables, self._clock = database, tuple(tables), clock
        self._batch, self._forgotten = batch, forgotten
        self._outages = OutageLog(log)

    async def prune(self, *, stop: asyncio.Event | None = None) -> dict[str, int]:
        """Delete every expired row, batch after batch; how many went, by table. With
        ``stop``, end early once it is set (between batches)."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        deleted = dict.fromkeys((table.name for table in self._tables), 0)
        for table in self._tables:
            while stop is None or not stop.is_set():
                rows = await self._database.run(delete_expired, table, now=now, limit=self._batch)
                deleted[table.name] += rows
                if rows:
                    self._forgotten(table.name, rows)
                if rows < self._batch:
                    break
        return deleted

    async def run(self, *, interval: float, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: prune, then wait ``interval`` seconds. Never raises
        for a failed pass."""
        while not stop.is_set():
            try:
                deleted = await self.prune(stop=stop)
            except Exception as error:
                if is_unavailable(error):
                    self._outages.failed("forgetting expired keys: database unavailable", error)
                else:
                    log.exception("forgetting expired keys failed; trying again")
            else:
                if any(deleted.values()):
                    log.info("forgot expired keys: %s", deleted)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    @contextlib.asynccontextmanager
    async def running(self, *, interval: float) -> AsyncIterator[None]:
        """Prune in the background (first at once) until the block ends."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(interval=interval, stop=stop))
        try:
            yield
        finally:
            stop.set()
            await task
