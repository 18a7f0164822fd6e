"""What the SQL store tells an instrumentation hook about its traffic to the database.

Metrics and benchmarks count statements, commits and waits for SQLite's write lock;
the store only reports them as they happen, and keeps no count itself. Without a hook
it does not even watch: SQLite's per-statement trace callback is installed only for
one.
"""

from __future__ import annotations

from typing import Protocol


class StoreInstrumentation(Protocol):
    def statement_sent(self) -> None:
        """One SQL statement went to the database: the store's own, and on a SQLite
        file the BEGIN, COMMIT and savepoints its transport sends too; on the store's
        engine, an application's statements as well."""

    def transaction_committed(self) -> None:
        """A write transaction committed: one for several writes that shared it."""

    def lock_waited(self) -> None:
        """A SQLite transaction found another connection writing, and waited for it on
        the writer thread."""

    def writes_batched(self) -> None:
        """Concurrent writes went to PostgreSQL together, as one statement."""


class _NotInstrumented:
    def statement_sent(self) -> None:
        pass

    def transaction_committed(self) -> None:
        pass

    def lock_waited(self) -> None:
        pass

    def writes_batched(self) -> None:
        pass


NOT_INSTRUMENTED: StoreInstrumentation = _NotInstrumented()


class StoreCounters:
    """Counts of everything a store reports: what the order service's ``/metrics`` and
    the benchmarks read."""

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        self.lock_waits = 0
        self.batches = 0

    def statement_sent(self) -> None:
        self.statements += 1

    def transaction_committed(self) -> None:
        self.commits += 1

    def lock_waited(self) -> None:
        self.lock_waits += 1

    def writes_batched(self) -> None:
        self.batches += 1
