"""How long the history of finished sagas is kept, and the background task that forgets it.

A saga's history (its row, attempts, operators' events and signals) is what recovery,
the admin API and the dashboard read. Once the saga has *finished* (``completed`` or
``compensated``, aborted sagas included) nothing reads it to make progress, so it can
go; a saga that is running, waiting, compensating or ``failed`` (it needs an operator)
is never deleted, whatever its age.

A finished saga goes when it finished longer than ``keep_for`` ago, or when more than
``keep_last`` sagas finished after it: either bound, or both. Deletion runs in small
batches, each its own short transaction, so neither database holds locks for long.
An application that must keep something of a saga beyond its history (an order's
outcome, say) is handed each batch inside the deleting transaction (``on_prune``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sagakit.state import SagaState
from sagakit.unavailable import OutageLog, is_unavailable

log = logging.getLogger("sagakit.retention")


@dataclass(frozen=True, kw_only=True)
class Retention:
    """Which finished sagas to keep. The default keeps 30 days and no count bound."""

    keep_for: timedelta | None = timedelta(days=30)
    """Keep a finished saga this long after it finished (None: no time bound)."""
    keep_last: int | None = None
    """Keep at most this many of the most recently finished sagas (None: no count bound)."""
    batch: int = 500
    """Sagas deleted per transaction."""

    def __post_init__(self) -> None:
        if self.keep_for is not None and self.keep_for < timedelta(0):
            raise ValueError("keep_for must not be negative")
        if self.keep_last is not None and self.keep_last < 0:
            raise ValueError("keep_last must not be negative")
        if self.batch < 1:
            raise ValueError("batch must be at least 1")

    @property
    def bounded(self) -> bool:
        """Whether anything will ever be pruned under this policy."""
        return self.keep_for is not None or self.keep_last is not None


@dataclass(frozen=True)
class Pruned:
    """What one pass (or one batch) deleted: sagas, and rows in all their tables."""

    sagas: int = 0
    rows: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(self.sagas + other.sagas, self.rows + other.rows)


OnPrune = Callable[[Any, Sequence[SagaState]], Awaitable[None]]
"""Called with the store's connection and the sagas about to go, in the transaction
that deletes them: what it writes is kept if and only if they are deleted."""


class PrunableStore(Protocol):
    """A store that can forget finished sagas (``SqlSagaStore``, ``InMemorySagaStore``)."""

    async def prune(self, retention: Retention, *, on_prune: OnPrune | None = None) -> Pruned:
        """Delete one batch (at most ``retention.batch`` sagas) of prunable history."""

    async def count_prunable(self, retention: Retention) -> int:
        """How many finished sagas ``retention`` would delete now."""

    async def oldest_finished(self) -> float | None:
        """When the oldest finished saga still kept finished (None: there is none)."""


class Pruner:
    """Prunes a store under a retention policy: once on demand, or every ``interval``.

    ``reported`` hears each pass's total (for metrics); a pass that fails because the
    database is unavailable is logged once per outage and tried again next interval.
    """

    def __init__(
        self,
        store: PrunableStore,
        retention: Retention,
        *,
        on_prune: OnPrune | None = None,
        reported: Callable[[Pruned], None] = lambda _pruned: None,
    ) -> None:
        self._store = store
        self._retention = retention
        self._on_prune = on_prune
        self._reported = reported
        self._outages = OutageLog(log)

    async def prune(self, *, max_sagas: int | None = None) -> Pruned:
        """Delete batches until nothing more is prunable (or ``max_sagas`` went)."""
        total = Pruned()
        while self._retention.bounded and (max_sagas is None or total.sagas < max_sagas):
            batch = await self._store.prune(self._retention, on_prune=self._on_prune)
            total += batch
            if batch.sagas < self._retention.batch:
                break
        return total

    async def run(self, *, interval: float, stop: asyncio.Event) -> None:
        """Until ``stop`` is set, prune every ``interval`` seconds."""
        while not stop.is_set():
            try:
                pruned = await self.prune()
            except Exception as error:
                if is_unavailable(error):
                    self._outages.failed("pruning saga history: the store is unavailable", error)
                else:
                    log.exception("pruning saga history failed; trying again")
            else:
                self._reported(pruned)
                if pruned.sagas:
                    log.info("pruned %d finished sagas (%d rows)", pruned.sagas, pruned.rows)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
