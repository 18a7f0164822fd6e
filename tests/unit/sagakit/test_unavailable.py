"""Telling an outage (retry shortly) from a refused statement (a bug or bad data)."""

from __future__ import annotations

import sqlite3

import asyncpg
import psycopg
import pytest
import sqlalchemy.exc

from sagakit.unavailable import is_disconnect, is_unavailable


def wrapped(error: BaseException) -> sqlalchemy.exc.DBAPIError:
    """As SQLAlchemy raises a driver's error."""
    return sqlalchemy.exc.DBAPIError.instance("SELECT 1", None, error, Exception)


OUTAGES = [
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("connect timed out"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
    sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 0 reached"),
    wrapped(psycopg.OperationalError("connection failed: Connection refused")),
    wrapped(sqlite3.OperationalError("database is locked")),
]
REFUSED_STATEMENTS = [
    asyncpg.UniqueViolationError("duplicate key value"),
    asyncpg.UndefinedTableError('relation "x" does not exist'),
    wrapped(psycopg.errors.UndefinedTable('relation "x" does not exist')),
    wrapped(sqlite3.OperationalError("no such table: x")),
    wrapped(sqlite3.IntegrityError("UNIQUE constraint failed")),
    ValueError("not a database error at all"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=repr)
def test_an_outage_is_unavailable(error: BaseException) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize("error", REFUSED_STATEMENTS, ids=repr)
def test_a_refused_statement_is_not_an_outage(error: BaseException) -> None:
    assert not is_unavailable(error)
    assert not is_disconnect(error)


def test_an_error_raised_from_an_outage_is_one_too() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as reset:
            raise RuntimeError("the write failed") from reset
    except RuntimeError as error:
        assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        asyncpg.AdminShutdownError("terminating connection"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=repr,
)
def test_a_lost_connection_is_a_disconnect(error: BaseException) -> None:
    assert is_disconnect(error)


def test_a_busy_pool_or_a_deadlock_is_not_a_disconnect() -> None:
    assert not is_disconnect(sqlalchemy.exc.TimeoutError("QueuePool limit"))
    assert not is_disconnect(asyncpg.DeadlockDetectedError("deadlock detected"))
