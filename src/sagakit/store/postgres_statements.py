"""The store's writes on PostgreSQL as one statement each: one round trip.

Beginning an attempt and finishing one each touch two or three rows. Joined into one
statement with data-modifying CTEs, outside any explicit transaction, they are atomic
on their own and cost one round trip instead of five (begin, three statements,
commit). Every part after the fenced saga update runs only if that update matched, so
a stale fencing token changes nothing at all. The parts are the shared statements and
values of ``statements``; only the joining is PostgreSQL's.

Finishing attempts of several sagas at once (``write_batches``) is the same statement
over arrays, one element per saga (``unnest``), each saga fenced on its own; the ids of
the sagas whose fencing matched come back. A lone finish keeps its own statement:
unnesting arrays of one element is more work for the server than binding plain
parameters, for nothing in return.

Creating a saga is one statement too, with an application's ``Rows`` inserted by more
CTEs before it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    Boolean,
    ColumnElement,
    Dialect,
    Executable,
    Table,
    Text,
    Update,
    bindparam,
    cast,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from sagakit.store.alongside import Rows
from sagakit.store.compiled import Compiled, compile_for
from sagakit.store.statements import (
    CLOSE_INTERRUPTED,
    INSERT_SAGA,
    RENEW_LEASE,
    SAVE_PROGRESS,
    SAVE_STATE,
    Source,
    bound,
    fenced,
    finished_attempt,
    finished_values,
    started_values,
    state_values,
)
from sagakit.store.tables import attempts, sagas


def _matched(saga: CTE, p: Source) -> ColumnElement[bool]:
    """This saga's fenced update matched (one saga's, in a batch of several)."""
    return exists(select(1).select_from(saga).where(saga.c.id == p("saga", sagas.c.id.type)))


def _started(saga: CTE, p: Source, condition: ColumnElement[bool]) -> CTE:
    values = started_values(p)
    chosen = select(*values.values()).where(_matched(saga, p), condition)
    return insert(attempts).from_select(list(values), chosen).cte("started")


def _has_next(p: Source) -> ColumnElement[bool]:
    return p("has_next", Boolean())


def _begin(fenced_update: Update) -> Executable:
    saga = fenced_update.returning(sagas.c.id).cte("saga")
    closed = CLOSE_INTERRUPTED.where(
        bound("close_interrupted", Boolean()), _matched(saga, bound)
    ).cte("closed")
    started = _started(saga, bound, true())
    return select(func.count()).select_from(saga).add_cte(closed, started)


def _finish(p: Source, *, fenced_update: Update) -> tuple[CTE, CTE, CTE]:
    saga = fenced_update.returning(sagas.c.id).cte("saga")
    finished = (
        update(attempts)
        .where(finished_attempt(p), _matched(saga, p))
        .values(finished_values(p))
        .cte("finished")
    )
    return saga, finished, _started(saga, p, _has_next(p))


def _finish_one() -> Executable:
    saga, finished, started = _finish(bound, fenced_update=SAVE_STATE)
    return select(func.count()).select_from(saga).add_cte(finished, started)


BEGIN = _begin(RENEW_LEASE)
"""Renew the lease, close interrupted attempts (``close_interrupted``), start one."""
BEGIN_SAVING = _begin(SAVE_PROGRESS)
"""The same, saving the saga's progress too (a group member's count of attempts)."""
FINISH = _finish_one()
"""Save the saga's state, finish its attempt, start the next one (``has_next``)."""


def _batch_columns() -> tuple[tuple[str, TypeEngine[Any]], ...]:
    """FINISH's parameters, each of which a batch passes as an array, one per saga."""
    found: dict[str, TypeEngine[Any]] = {}

    def record(name: str, kind: TypeEngine[Any]) -> ColumnElement[Any]:
        found.setdefault(name, kind)
        return bindparam(name, type_=kind)

    _finish(record, fenced_update=update(sagas).where(fenced(record)).values(state_values(record)))
    return tuple(found.items())


FINISH_BATCH_COLUMNS = _batch_columns()
JSON_COLUMNS = frozenset(name for name, kind in FINISH_BATCH_COLUMNS if isinstance(kind, JSON))
"""Sent as arrays of JSON text: PostgreSQL has no array of parameters' JSON type."""


def _finish_many() -> Executable:
    arrays = [
        bindparam(name, type_=ARRAY(Text() if name in JSON_COLUMNS else kind))
        for name, kind in FINISH_BATCH_COLUMNS
    ]
    unnested = (
        func.unnest(*arrays)
        .table_valued(*(name for name, _ in FINISH_BATCH_COLUMNS))
        .render_derived(name="b")
    )
    batch = select(*unnested.c).cte("batch")

    def element(name: str, kind: TypeEngine[Any]) -> ColumnElement[Any]:
        column = batch.c[name]
        return cast(column, kind) if name in JSON_COLUMNS else column

    saved = update(sagas).where(fenced(element)).values(state_values(element))
    saga, finished, started = _finish(element, fenced_update=saved)
    return select(saga.c.id).add_cte(finished, started)


FINISH_MANY = _finish_many()


Shape = tuple[tuple[Table, tuple[str, ...], int], ...]
"""Each batch of rows' table, the columns its rows name, and how many rows."""


def shape_of(alongside: Sequence[Rows]) -> Shape:
    return tuple((rows.table, tuple(rows.columns), len(rows.values)) for rows in alongside)


def create(*, rows: Shape = ()) -> Executable:
    """Insert the saga and its first attempt (``has_start``), after the ``rows``."""
    saga = INSERT_SAGA.returning(sagas.c.id).cte("saga")
    started = _started(saga, bound, bound("has_start", Boolean()))
    rows_inserted = [
        insert(table)
        .values(
            [
                {name: bindparam(_row_param(batch, number, name)) for name in names}
                for number in range(count)
            ]
        )
        .cte(f"rows_{batch}")
        for batch, (table, names, count) in enumerate(rows)
    ]
    return select(func.count()).select_from(saga).add_cte(*rows_inserted, started)


CREATE = create()


@functools.lru_cache(maxsize=256)
def create_with_rows(shape: Shape, dialect: Dialect) -> Compiled:
    """Compiled once per shape of rows; each row's values are converted by its column's
    type, as SQLAlchemy would."""
    return compile_for(create(rows=shape), dialect)


def rows_params(alongside: Sequence[Rows]) -> dict[str, Any]:
    return {
        _row_param(batch, number, name): value
        for batch, rows in enumerate(alongside)
        for number, row in enumerate(rows.values)
        for name, value in row.items()
    }


def _row_param(batch: int, number: int, name: str) -> str:
    return f"r{batch}_{number}_{name}"
