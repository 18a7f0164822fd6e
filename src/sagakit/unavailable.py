"""Telling "the database cannot serve now" apart from every other error.

A database that is restarting, unreachable or out of connections fails in many driver
dialects: ``ConnectionRefusedError`` from the socket, asyncpg's ``CannotConnectNowError``
while PostgreSQL starts, psycopg's ``OperationalError``, a dropped connection's
``ConnectionDoesNotExistError``, SQLAlchemy's pool ``TimeoutError`` when no connection
is free in time, SQLite's "database is locked". All of them mean the same to a caller:
nothing is wrong with the request, try again shortly. A statement the database refused
(a constraint, a syntax error) means something else and is not matched here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import sqlalchemy.exc

UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03", "40001", "40P01")
"""PostgreSQL's connection exceptions (class 08), too many connections, the server
shutting down (admin or crash) or starting, and the transactions it asks to retry
(serialization failure, deadlock)."""

_CLIENT_SIDE = ("InterfaceError", "InternalClientError", "ConnectionDoesNotExistError")
"""asyncpg's names for a connection its client side can no longer use."""

_SQLITE_BUSY = ("locked", "busy", "unable to open", "disk I/O")
"""What SQLite says when another connection holds it or its file cannot be reached
(not "no such table": a database that was never migrated is a mistake, not an outage)."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot serve right now."""
    return any(_says_unavailable(cause) for cause in _causes(error))


DISCONNECT_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_disconnect(error: BaseException) -> bool:
    """Whether ``error`` means the connection it came from can never be used again (the
    server closed it, or the driver lost track of it), so it must leave the pool."""
    for cause in _causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(DISCONNECT_SQLSTATES):
            return True
        module = type(cause).__module__
        if module.startswith("asyncpg") and type(cause).__name__ in _CLIENT_SIDE:
            return True
        if isinstance(cause, ConnectionError):
            return True
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # no pooled connection in time
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OSError | TimeoutError):  # refused, reset, no route, connect timeout
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    kind, module = type(error).__name__, type(error).__module__
    if module.startswith("asyncpg"):
        return kind in _CLIENT_SIDE
    if module.startswith("psycopg"):  # its OperationalError is about the connection
        return kind == "OperationalError" and not sqlstate
    if module == "sqlite3" and kind == "OperationalError":
        return any(word in str(error) for word in _SQLITE_BUSY)
    return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what it was raised from, and a DBAPI error's driver exception."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        original = getattr(current, "orig", None)
        if isinstance(original, BaseException):
            pending.append(original)


class OutageLog:
    """During an outage every request and every pass fails the same way: log one line
    per kind of failure and interval, counting the rest, instead of a traceback each."""

    def __init__(
        self,
        log: logging.Logger,
        *,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log, self._interval, self._clock = log, interval, clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def failed(self, what: str, error: BaseException) -> None:
        kind = f"{what}: {type(error).__name__}"
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        more = self._quiet.pop(kind, 0)
        since = f" ({more} more since the last line)" if more else ""
        self._last[kind] = now
        self._log.warning("%s: %s: %s%s", what, type(error).__name__, error, since)
