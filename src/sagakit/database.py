"""Connecting to the store's database: the one place where SQLite and PostgreSQL differ.

SQLite is the embedded default. It allows one writer at a time, so every transaction
that may write starts with ``BEGIN IMMEDIATE``: a transaction that reads first and
writes later would otherwise take the write lock half-way through and fail with
"database is locked" instead of waiting for it. Connections that only read
(:func:`reading`) begin deferred: WAL mode lets them read while the writer works.
``synchronous=FULL`` makes each commit durable before it returns, which is the promise
the write-ahead log depends on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sagakit.unavailable import is_disconnect

__all__ = ["create_sync_engine", "is_sqlite", "open_database", "reading"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_SECONDS = 5.0
"""How long opening a PostgreSQL connection may take: a server that does not answer
(stopped, or unreachable) fails a request in bounded time instead of the drivers'
minute (asyncpg) or the operating system's minutes (psycopg)."""
READ_ONLY = "sagakit_read_only"
"""Execution option of connections that only read: SQLite begins them deferred."""
POSTGRES_POOL_SIZE = 5


def open_database(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS, **options: Any
) -> AsyncEngine:
    """An async engine for ``url``, configured for the saga store's access pattern.

    SQLite files get WAL, full fsync and immediate transactions; their parent folder
    is created. PostgreSQL gets a fixed pool: ``pool_size`` connections (5 unless
    ``options`` say otherwise), all kept and reused, none added when they are busy.
    SQLAlchemy's default overflow opens up to 10 more under load and closes each after
    one use: a new server process for every few saga writes, which cost the order
    service's PostgreSQL half its CPU per order at 32 clients. A write that finds the
    pool busy waits for a connection instead (they are held for one statement).

    There is no pre-ping: it costs a round trip on every checkout, which doubled the
    time of a saga step; after a server restart the first statement fails instead,
    SQLAlchemy discards the pool, and the saga is retried from its log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, **options)
    _connect_timeout(options, "timeout", connect_timeout)
    engine = create_async_engine(
        url, **{"pool_size": POSTGRES_POOL_SIZE, "max_overflow": 0, **options}
    )
    _drop_lost_connections(engine.sync_engine)
    return engine


def create_sync_engine(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS, **options: Any
) -> Engine:
    """A blocking engine on the same database as ``url`` (an async URL is accepted).

    For work run as a whole on a worker thread: the async drivers are swapped for their
    blocking twins (aiosqlite for the standard ``sqlite3``, asyncpg for psycopg).
    """
    parsed = _blocking_driver(make_url(url))
    if parsed.get_backend_name() != "sqlite":
        if parsed.get_backend_name() == "postgresql":
            # libpq takes whole seconds, and reads 0 as "wait for ever"
            _connect_timeout(options, "connect_timeout", max(1, round(connect_timeout)))
        return sqlalchemy.create_engine(parsed, **options)
    _create_parent_folder(parsed.database)
    options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    engine = sqlalchemy.create_engine(parsed, **options)
    _configure_sqlite(engine)
    return engine


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection that only reads. On SQLite its transaction is a plain (deferred)
    ``BEGIN``: in WAL mode it reads beside the writer, where ``BEGIN IMMEDIATE`` would
    wait for the write lock and hold writers off while it reads."""
    async with engine.connect() as connection:
        yield await connection.execution_options(**{READ_ONLY: True})


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _drop_lost_connections(engine: Engine) -> None:
    """Tell SQLAlchemy a connection is gone when the driver says so in words it does not
    know: after PostgreSQL restarts, asyncpg's "cannot switch to state ...; another
    operation is in progress" on the rollback of a dropped connection would otherwise
    leave that connection in the pool, to fail again."""

    @event.listens_for(engine, "handle_error")
    def _mark(context: ExceptionContext) -> None:
        if not context.is_disconnect and is_disconnect(context.original_exception):
            context.is_disconnect = True


def _connect_timeout(options: dict[str, Any], name: str, seconds: float) -> None:
    options["connect_args"] = {name: seconds, **options.get("connect_args", {})}


def _blocking_driver(url: URL) -> URL:
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+pysqlite")
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    return url


def _create_parent_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _create_sqlite_engine(url: str, **options: Any) -> AsyncEngine:
    _create_parent_folder(make_url(url).database)
    options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    engine = create_async_engine(url, **options)
    _configure_sqlite(engine.sync_engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        reads_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")
