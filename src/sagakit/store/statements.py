"""Every statement the SQL store writes with, defined once in SQLAlchemy Core.

Each database runs these same statements: SQLAlchemy compiles one to a dialect's SQL
once (``compiled``), and a transport sends the text with positional values. The
PostgreSQL store joins them into one-round-trip statements (``postgres``) from the
same values (:func:`state_values`, :func:`started_values`, …), so a new column is
written in one place here whatever the database.

Parameters are named after what they hold, uniquely across statements (a finished
attempt's ``finished_step``, the next one's ``start_step``), so that statements joined
into one keep every name meaning one value. None is named like a column it is compared
with (the saga's id is ``saga``): run through SQLAlchemy, an UPDATE reserves those names
for the values it sets. Times are the database's clock (:class:`database_now`), never a
process's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Double,
    Executable,
    Integer,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from sagakit.state import AttemptStatus
from sagakit.store.tables import ACTIVE_STATUSES, attempts, events, sagas, signals


class database_now(FunctionElement[float]):
    """The database's clock in seconds since the epoch: every process compares leases
    and due times with one clock, whatever its own says."""

    type = Double()
    inherit_cache = True


@compiles(database_now, "postgresql")
def _now_on_postgresql(_element: database_now, _compiler: SQLCompiler, **_kw: Any) -> str:
    # clock_timestamp, not now(): now() is the transaction's start, and a lease renewed
    # late in a long transaction would expire early.
    return "CAST(extract(epoch FROM clock_timestamp()) AS double precision)"


@compiles(database_now, "sqlite")
def _now_on_sqlite(_element: database_now, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


class statement_now(FunctionElement[float]):
    """The database's clock when the statement began: constant within it, so PostgreSQL
    can bound an index scan by it (``database_now`` reads a clock that moves while the
    statement runs, which the planner may only test row by row)."""

    type = Double()
    inherit_cache = True


@compiles(statement_now, "postgresql")
def _statement_now_on_postgresql(
    _element: statement_now, _compiler: SQLCompiler, **_kw: Any
) -> str:
    # now() is the transaction's start, and a claim is a transaction of one statement.
    return "CAST(extract(epoch FROM now()) AS double precision)"


@compiles(statement_now, "sqlite")
def _statement_now_on_sqlite(_element: statement_now, _compiler: SQLCompiler, **_kw: Any) -> str:
    # SQLite reads 'now' once per statement already.
    return "((julianday('now') - 2440587.5) * 86400.0)"


Source = Callable[[str, TypeEngine[Any]], ColumnElement[Any]]
"""Where a statement's values come from: by default bound parameters, one statement
per saga; the PostgreSQL store's batch takes them from the columns of an array."""


def bound(name: str, kind: TypeEngine[Any]) -> ColumnElement[Any]:
    return bindparam(name, type_=kind)


def renewed_lease(p: Source = bound) -> ColumnElement[float]:
    """When a lease taken or renewed now expires (``lease`` seconds from now)."""
    return database_now() + p("lease", Double())


def fenced(p: Source = bound) -> ColumnElement[bool]:
    """The saga, as long as the writer's fencing token is still its current one."""
    return (sagas.c.id == p("saga", sagas.c.id.type)) & (
        sagas.c.fencing_token == p("token", sagas.c.fencing_token.type)
    )


def progress_values(p: Source = bound) -> dict[str, ColumnElement[Any]]:
    """How far the saga has got: what every step changes."""
    return {
        name: p(name, sagas.c[name].type)
        for name in (
            "results",
            "cursor",
            "attempt",
            "attempt_base",
            "failure",
            "compensation_failure",
            "wait_until",
            "members",
            "updated_at",
        )
    }


def state_values(p: Source = bound) -> dict[str, ColumnElement[Any]]:
    """Progress, status, schedule and lease: a ``retry_seconds`` above zero moves the
    due time, ``release_lease`` gives up the lease."""
    release_lease = p("release_lease", Boolean())
    retry = p("retry_seconds", Double())
    return {
        **progress_values(p),
        "status": p("status", sagas.c.status.type),
        "next_attempt_at": case(
            (retry > literal_column("0", Double()), database_now() + retry),
            else_=sagas.c.next_attempt_at,
        ),
        "owner": case((release_lease, None), else_=sagas.c.owner),
        "lease_expires_at": case((release_lease, None), else_=renewed_lease(p)),
    }


def started_values(p: Source = bound) -> dict[str, ColumnElement[Any]]:
    """An attempt about to run."""
    return {
        "saga_id": p("saga", attempts.c.saga_id.type),
        "step": p("start_step", attempts.c.step.type),
        "direction": p("start_direction", attempts.c.direction.type),
        "attempt": p("start_attempt", attempts.c.attempt.type),
        "idempotency_key": p("start_key", attempts.c.idempotency_key.type),
        "status": _status(AttemptStatus.STARTED),
        "started_at": p("start_started_at", attempts.c.started_at.type),
    }


def _status(status: AttemptStatus) -> ColumnElement[str]:
    """A status written into the SQL: the compiled statement takes no value for it."""
    return literal_column(f"'{status.value}'", attempts.c.status.type)


def finished_values(p: Source = bound) -> dict[str, ColumnElement[Any]]:
    return {
        "status": p("outcome", attempts.c.status.type),
        "finished_at": p("finished_at", attempts.c.finished_at.type),
        "result": p("result", attempts.c.result.type),
        "error": p("error", attempts.c.error.type),
    }


def finished_attempt(p: Source = bound) -> ColumnElement[bool]:
    return (
        (attempts.c.saga_id == p("saga", attempts.c.saga_id.type))
        & (attempts.c.step == p("finished_step", attempts.c.step.type))
        & (attempts.c.direction == p("finished_direction", attempts.c.direction.type))
        & (attempts.c.attempt == p("finished_attempt", attempts.c.attempt.type))
    )


INSERT_SAGA = (
    insert(sagas)
    .inline()
    .values(
        {
            **{
                name: bound(name, sagas.c[name].type)
                for name in ("name", "version", "status", "input", "deadline_at", "owner")
            },
            "id": bound("saga", sagas.c.id.type),
            **progress_values(),
            "fencing_token": bound("token", sagas.c.fencing_token.type),
            "created_at": bound("created_at", sagas.c.created_at.type),
            "lease_expires_at": renewed_lease(),
            "next_attempt_at": database_now(),
        }
    )
)
RENEW_LEASE = (
    update(sagas)
    .where(fenced())
    .values(
        attempt=bound("start_attempt", sagas.c.attempt.type),
        updated_at=bound("start_started_at", sagas.c.updated_at.type),
        lease_expires_at=renewed_lease(),
    )
)
"""Beginning an attempt: the saga's attempt number, and the lease renewed."""
SAVE_PROGRESS = (
    update(sagas).where(fenced()).values({**progress_values(), "lease_expires_at": renewed_lease()})
)
"""An ordinary step, or a group member's attempt begun: the same status, no retry, the
lease kept. SQLite rewrites the index entries of every column a statement sets, changed
or not, so leaving out the status and the due time spares two indexes."""
SAVE_STATE = update(sagas).where(fenced()).values(state_values())
CLOSE_INTERRUPTED = (
    update(attempts)
    .where(
        attempts.c.saga_id == bound("saga", attempts.c.saga_id.type),
        attempts.c.status == _status(AttemptStatus.STARTED),
    )
    .values(status=_status(AttemptStatus.INTERRUPTED))
)
START_ATTEMPT = insert(attempts).inline().values(started_values())
FINISH_ATTEMPT = update(attempts).where(finished_attempt()).values(finished_values())
INSERT_EVENT = (
    insert(events)
    .inline()
    .values(
        {
            name: bound(name, events.c[name].type)
            for name in ("saga_id", "kind", "actor", "detail", "at")
        }
    )
)


def _unheld() -> ColumnElement[bool]:
    return or_(sagas.c.lease_expires_at.is_(None), sagas.c.lease_expires_at < database_now())


def _claiming(condition: ColumnElement[bool]) -> Executable:
    return (
        update(sagas)
        .where(condition)
        .values(
            owner=bound("owner", sagas.c.owner.type),
            fencing_token=sagas.c.fencing_token + 1,
            lease_expires_at=renewed_lease(),
        )
        .returning(*sagas.c)
    )


ACTIVE = sagas.c.status.in_(
    [literal_column(f"'{status}'", sagas.c.status.type) for status in ACTIVE_STATUSES]
)
"""Active sagas, the statuses written into the SQL: a planner can then see that the due
index (partial, on active sagas) covers the query."""
DUE = (
    select(sagas.c.id)
    .where(
        ACTIVE,
        _unheld(),
        # The due index's range ends here, so a claim that finds nothing due reads no
        # row of the sagas that wait (for a retry, an event, a delay), however many.
        sagas.c.next_attempt_at <= statement_now(),
    )
    .order_by(sagas.c.next_attempt_at)
    .limit(bindparam("limit", type_=Integer()))
    # Competing workers on PostgreSQL neither wait for nor take each other's
    # candidates. SQLite renders no FOR UPDATE: it has one writer at a time, so the
    # statement is exclusive already.
    .with_for_update(skip_locked=True)
)
"""The ids of the sagas due now and held by nobody, the longest due first."""
CLAIM_DUE = _claiming(sagas.c.id.in_(DUE.scalar_subquery()))
CLAIM = _claiming((sagas.c.id == bound("saga", sagas.c.id.type)) & _unheld())
CLAIM_ANYWAY = _claiming(sagas.c.id == bound("saga", sagas.c.id.type))

WAITING = (sagas.c.next_attempt_at > database_now()).label("waiting")
"""Whether the saga's next attempt is ahead, by the database's clock."""
LOAD_SAGA = select(sagas, WAITING).where(sagas.c.id == bound("saga", sagas.c.id.type))
LOAD_ATTEMPTS = (
    select(attempts)
    .where(attempts.c.saga_id == bound("saga", attempts.c.saga_id.type))
    .order_by(attempts.c.id)
)
LOAD_EVENTS = (
    select(events)
    .where(events.c.saga_id == bound("saga", events.c.saga_id.type))
    .order_by(events.c.id)
)
INSERT_SIGNAL = (
    insert(signals)
    .inline()
    .values(
        {
            name: bound(f"signal_{name}", signals.c[name].type)
            for name in ("saga_id", "name", "kind", "key", "payload", "sender", "at")
        }
    )
)
WAKE = (
    update(sagas)
    .where(
        sagas.c.id == bound("saga", sagas.c.id.type),
        sagas.c.status == literal_column("'running'", sagas.c.status.type),
        sagas.c.wait_until.is_not(None),
    )
    .values(next_attempt_at=database_now())
)
"""A saga waiting for an event it has just been sent: due now, for whoever claims it."""
LOAD_SIGNAL = select(signals).where(
    signals.c.saga_id == bound("saga", signals.c.saga_id.type),
    signals.c.name == bound("signal_name", signals.c.name.type),
)
COUNT_BY_STATUS = select(sagas.c.status, func.count()).group_by(sagas.c.status)
_WAITING_KEY = (sagas.c.name, sagas.c.version, sagas.c.status, sagas.c.cursor)
COUNT_WAITING = (
    select(*_WAITING_KEY, func.count())
    .where(sagas.c.status.in_(ACTIVE_STATUSES), WAITING)
    .group_by(*_WAITING_KEY)
)
