"""The saga store's statements on PostgreSQL, in asyncpg's positional form.

Beginning an attempt and finishing one each touch two or three rows. Written as one
statement with data-modifying CTEs, outside any explicit transaction, they are atomic
on their own and cost one round trip instead of five (begin, three statements, commit).
Every part after the fenced saga update runs only if that update matched (``EXISTS
(SELECT 1 FROM saga)``), so a stale fencing token changes nothing at all. An ordinary
step changes no indexed column of the saga (its status and due time stay), so
PostgreSQL may update the row in place.

Finishing attempts of several sagas at once (``write_batches``) is one statement over
arrays, one element per saga: the same parts, each saga fenced on its own, and the ids
of the sagas whose fencing matched come back. A lone finish keeps its own statement:
unnesting arrays of one element is more work for the server than binding plain
parameters, for nothing in return.

Creating a saga is one statement too, with an application's ``Rows`` inserted by more
CTEs before it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Table, text

from sagakit.alongside import Rows

NOW = "CAST(extract(epoch FROM clock_timestamp()) AS double precision)"

CREATE_SAGA = f"""
saga AS (
    INSERT INTO sagakit_sagas
        (id, name, version, status, input, results, cursor, attempt, attempt_base, failure,
         compensation_failure, deadline_at, owner, fencing_token, created_at, updated_at,
         lease_expires_at, next_attempt_at)
    VALUES
        (:id, :name, :version, :status, CAST(:input AS JSONB), CAST(:results AS JSONB),
         :cursor, :attempt, :attempt_base, CAST(:failure AS JSONB),
         CAST(:compensation_failure AS JSONB), :deadline_at, :owner, :token, :created_at,
         :updated_at, {NOW} + :lease, {NOW})
    RETURNING id
)
INSERT INTO sagakit_attempts
    (saga_id, step, direction, attempt, idempotency_key, status, started_at)
SELECT :id, :next_step, :next_direction, :next_attempt, :next_key, 'started', :next_started_at
FROM saga WHERE :has_next
"""
CREATE = "WITH" + CREATE_SAGA

BEGIN = f"""
WITH saga AS (
    UPDATE sagakit_sagas
    SET attempt = :attempt, updated_at = :started_at, lease_expires_at = {NOW} + :lease
    WHERE id = :saga_id AND fencing_token = :token
    RETURNING id
), closed AS (
    UPDATE sagakit_attempts SET status = 'interrupted'
    WHERE saga_id = :saga_id AND status = 'started' AND :close_interrupted
      AND EXISTS (SELECT 1 FROM saga)
), started AS (
    INSERT INTO sagakit_attempts
        (saga_id, step, direction, attempt, idempotency_key, status, started_at)
    SELECT :saga_id, :step, :direction, :attempt, :key, 'started', :started_at FROM saga
)
SELECT count(*) FROM saga
"""

FINISH = f"""
WITH saga AS (
    UPDATE sagakit_sagas
    SET status = :status, results = CAST(:results AS JSONB), cursor = :cursor,
        attempt = :attempt, attempt_base = :attempt_base,
        failure = CAST(:failure AS JSONB),
        compensation_failure = CAST(:compensation_failure AS JSONB),
        updated_at = :finished_at,
        next_attempt_at = CASE WHEN CAST(:retry_seconds AS double precision) > 0
                               THEN {NOW} + :retry_seconds ELSE next_attempt_at END,
        owner = CASE WHEN :let_go THEN NULL ELSE owner END,
        lease_expires_at = CASE WHEN :let_go THEN NULL ELSE {NOW} + :lease END
    WHERE id = :saga_id AND fencing_token = :token
    RETURNING id
), finished AS (
    UPDATE sagakit_attempts
    SET status = :outcome, finished_at = :finished_at, result = CAST(:result AS JSONB),
        error = :error
    WHERE saga_id = :saga_id AND step = :step AND direction = :direction
      AND attempt = :finished_attempt AND EXISTS (SELECT 1 FROM saga)
), started AS (
    INSERT INTO sagakit_attempts
        (saga_id, step, direction, attempt, idempotency_key, status, started_at)
    SELECT :saga_id, :next_step, :next_direction, :next_attempt, :next_key, 'started',
           :next_started_at
    FROM saga WHERE :has_next
)
SELECT count(*) FROM saga
"""

FINISH_COLUMNS = (
    ("saga_id", "TEXT"),
    ("token", "BIGINT"),
    ("status", "TEXT"),
    ("results", "TEXT"),
    ("cursor", "INTEGER"),
    ("attempt", "INTEGER"),
    ("attempt_base", "INTEGER"),
    ("failure", "TEXT"),
    ("compensation_failure", "TEXT"),
    ("finished_at", "DOUBLE PRECISION"),
    ("retry_seconds", "DOUBLE PRECISION"),
    ("let_go", "BOOLEAN"),
    ("outcome", "TEXT"),
    ("result", "TEXT"),
    ("error", "TEXT"),
    ("step", "TEXT"),
    ("direction", "TEXT"),
    ("finished_attempt", "INTEGER"),
    ("has_next", "BOOLEAN"),
    ("next_step", "TEXT"),
    ("next_direction", "TEXT"),
    ("next_attempt", "INTEGER"),
    ("next_key", "TEXT"),
    ("next_started_at", "DOUBLE PRECISION"),
)
"""FINISH's parameters that differ from saga to saga, each passed as an array."""

FINISH_MANY = f"""
WITH batch AS (
    SELECT * FROM unnest({", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in FINISH_COLUMNS)})
    AS b({", ".join(name for name, _ in FINISH_COLUMNS)})
), saga AS (
    UPDATE sagakit_sagas AS s
    SET status = b.status, results = CAST(b.results AS JSONB), cursor = b.cursor,
        attempt = b.attempt, attempt_base = b.attempt_base,
        failure = CAST(b.failure AS JSONB),
        compensation_failure = CAST(b.compensation_failure AS JSONB),
        updated_at = b.finished_at,
        next_attempt_at = CASE WHEN b.retry_seconds > 0
                               THEN {NOW} + b.retry_seconds ELSE s.next_attempt_at END,
        owner = CASE WHEN b.let_go THEN NULL ELSE s.owner END,
        lease_expires_at = CASE WHEN b.let_go THEN NULL ELSE {NOW} + :lease END
    FROM batch AS b
    WHERE s.id = b.saga_id AND s.fencing_token = b.token
    RETURNING s.id
), finished AS (
    UPDATE sagakit_attempts AS a
    SET status = b.outcome, finished_at = b.finished_at, result = CAST(b.result AS JSONB),
        error = b.error
    FROM batch AS b JOIN saga ON saga.id = b.saga_id
    WHERE a.saga_id = b.saga_id AND a.step = b.step AND a.direction = b.direction
      AND a.attempt = b.finished_attempt
), started AS (
    INSERT INTO sagakit_attempts
        (saga_id, step, direction, attempt, idempotency_key, status, started_at)
    SELECT b.saga_id, b.next_step, b.next_direction, b.next_attempt, b.next_key, 'started',
           b.next_started_at
    FROM batch AS b JOIN saga ON saga.id = b.saga_id
    WHERE b.has_next
)
SELECT id FROM saga
"""


@dataclass(frozen=True)
class Positional:
    """A statement written with ``:name`` parameters, compiled to asyncpg's ``$n`` form."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, named: str, dialect: Dialect) -> Positional:
        compiled = text(named).compile(dialect=dialect)
        return cls(compiled.string, tuple(compiled.positiontup or ()))

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


Shape = tuple[tuple[Table, tuple[str, ...], int], ...]
"""Each batch of rows' table, the columns its rows name, and how many rows."""


def shape_of(alongside: Sequence[Rows]) -> Shape:
    return tuple((rows.table, tuple(rows.columns), len(rows.values)) for rows in alongside)


@dataclass(frozen=True)
class CreateWithRows:
    """The creating statement with an application's rows inserted by more CTEs before it."""

    positional: Positional
    processors: tuple[tuple[Callable[[Any], Any] | None, ...], ...]
    """Per batch, per column: how SQLAlchemy would convert the value for asyncpg."""

    def parameters(self, alongside: Sequence[Rows]) -> dict[str, Any]:
        params = {}
        for batch, (rows, processors) in enumerate(zip(alongside, self.processors, strict=True)):
            columns = tuple(zip(rows.columns, processors, strict=True))
            for number, row in enumerate(rows.values):
                for column, (name, process) in enumerate(columns):
                    value = row[name]
                    params[f"r{batch}_{number}_{column}"] = process(value) if process else value
        return params


@functools.lru_cache(maxsize=256)
def create_with_rows(shape: Shape, dialect: Dialect) -> CreateWithRows:
    """Compiled once per shape: the columns' types come from the tables, as one
    statement's ``INSERT … VALUES`` lets PostgreSQL infer its parameters' types."""
    quote = dialect.identifier_preparer
    inserts, processors = [], []
    for batch, (table, names, count) in enumerate(shape):
        columns = [table.c[name] for name in names]
        placeholders = ", ".join(
            "(" + ", ".join(f":r{batch}_{number}_{column}" for column in range(len(columns))) + ")"
            for number in range(count)
        )
        inserts.append(
            f"rows_{batch} AS (INSERT INTO {quote.format_table(table)} "
            f"({', '.join(quote.format_column(column) for column in columns)}) "
            f"VALUES {placeholders}),"
        )
        processors.append(
            tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns)
        )
    statement = "WITH " + "\n".join(inserts) + CREATE_SAGA
    return CreateWithRows(Positional.of(statement, dialect), tuple(processors))
