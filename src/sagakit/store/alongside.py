"""What ``SqlSagaStore`` writes alongside a saga: the application's own, in the saga's
creating transaction.

``SagaEngine.start(alongside=...)`` with a SQL store takes either a function, which gets
a blocking SQLAlchemy connection inside that transaction and may write anything, or
rows to insert (``Rows``), which the store can write more cheaply: on PostgreSQL the
rows and the saga go in one statement, one round trip to the server. The store
protocol names none of this; it is generic in what a store accepts alongside.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, KeysView, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, insert


@dataclass(frozen=True)
class Rows:
    """Rows to insert into one of the application's tables, atomically with the saga.

    Every row names the same columns; columns it leaves out take their defaults.
    """

    table: Table
    values: Sequence[Mapping[str, Any]]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"Rows for {self.table.name} holds no row")
        columns = self.columns
        for name in columns:
            if name not in self.table.c:
                raise ValueError(f"{self.table.name} has no column {name!r}")
        for number, row in enumerate(self.values, start=1):
            if row.keys() != columns:
                raise ValueError(
                    f"row {number} for {self.table.name} names {sorted(row)}, "
                    f"row 1 names {sorted(columns)}: every row must name the same columns"
                )

    @property
    def columns(self) -> KeysView[str]:
        """The columns every row names, in the first row's order."""
        return self.values[0].keys()


Alongside = Callable[[Connection], None] | Sequence[Rows]


def as_function(alongside: Alongside) -> Callable[[Connection], None]:
    """The writes as a function of a blocking connection, however they were given."""
    if callable(alongside):
        return alongside
    batches = tuple(alongside)

    def insert_rows(connection: Connection) -> None:
        for rows in batches:
            connection.execute(_insert(rows.table), list(rows.values))

    return insert_rows


@functools.cache
def _insert(table: Table) -> Insert:
    """Built once per table: building a statement costs more than executing it."""
    return insert(table)
