"""How the store's writes reach a SQLite file: each one transaction, on the event loop.

Through SQLAlchemy's async SQLite driver every statement is several hops between the
event loop and the driver's thread, each costing more than the statement. Here a
whole write transaction is one call on a blocking connection, run where
:class:`~sagakit.store.sqlite_transactions.SqliteTransactions` runs it: on the event
loop, committed with the other writes of the same turn, or on the writer thread when
another connection holds the lock.

The statements are the shared ones (``statements``), compiled once for SQLite and sent
to the ``sqlite3`` connection underneath SQLAlchemy's. SQLAlchemy owns the transaction
only when an application's ``alongside`` writes are in it; an arbitrary function of a
connection runs on the writer thread, since it may take its time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Dialect

from sagakit.store.alongside import Alongside, as_function
from sagakit.store.compiled import Write, compiled, lease_lost
from sagakit.store.instrumentation import StoreInstrumentation
from sagakit.store.sqlite_transactions import SqliteTransactions, driver


class SqliteTransport:
    """One transaction per call, on the event loop unless it must wait for the lock."""

    def __init__(
        self, path: str, dialect: Dialect, instrumentation: StoreInstrumentation | None
    ) -> None:
        self._dialect = dialect
        self.transactions = SqliteTransactions(
            path, thread_name="sagakit-sqlite", instrumentation=instrumentation
        )

    async def write(self, writes: Sequence[Write], *, alongside: Alongside | None = None) -> None:
        application = None if alongside is None else as_function(alongside)
        steps = [(compiled(w.statement, self._dialect), w.params, w.fenced) for w in writes]

        def work(connection: Connection) -> None:
            if application is not None:
                application(connection)
            db = driver(connection)
            for statement, params, fenced in steps:
                changed = db.execute(statement.sql, statement.arguments(params)).rowcount
                if fenced is not None and changed != 1:
                    raise lease_lost(fenced)

        # Rows are quick inserts; a function may take its time, so it never runs on the loop.
        await self.transactions.run(
            work, managed=application is not None, on_loop=not callable(alongside)
        )

    def close(self) -> None:
        self.transactions.close()
