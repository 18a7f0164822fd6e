"""Throw-away databases for the chaos run and the benchmark: SQLite files or fresh
PostgreSQL databases on one server, one per service, dropped afterwards.

Dropped whatever happens: an exception while creating or migrating them, in the run,
Ctrl-C or SIGTERM (which the CLI turns into ``SystemExit``). A PostgreSQL unreachable
at that moment is retried; if it stays so, the names are printed to drop by hand, so
no scratch database is left behind unannounced.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from checkout.chaos.retry import DEFAULT_BACKOFF, Backoff, DatabaseUnreachable, retrying
from checkout.migrations import DATABASES, upgrade_all
from sagakit.database import open_database

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

Migrate = Callable[[dict[str, str]], None]
Report = Callable[[str], None]


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def scratch_databases(
    *,
    backend: str,
    folder: Path,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    keep: bool = False,
    prefix: str | None = None,
    migrate: Migrate = upgrade_all,
    drop_backoff: Backoff = DEFAULT_BACKOFF,
    report: Report = _to_stderr,
) -> Iterator[dict[str, str]]:
    """Four migrated, empty databases; their URLs by service name.

    SQLite files go in ``folder`` (the caller decides whether it outlives the run).
    PostgreSQL's are named ``<prefix>_<service>`` (a fresh prefix by default); ``keep``
    leaves them in place for a look afterwards.
    """
    if backend == "sqlite":
        urls = {name: f"sqlite+aiosqlite:///{folder / name}.db" for name in DATABASES}
        migrate(urls)
        yield urls
        return
    if backend != "postgresql":
        raise ValueError(f"backend must be sqlite or postgresql, not {backend!r}")
    names = scratch_names(prefix or new_prefix())
    base = make_url(postgres_url)
    urls = {
        name: base.set(database=db).render_as_string(hide_password=False)
        for name, db in names.items()
    }
    created: list[str] = []
    try:
        asyncio.run(_create(postgres_url, list(names.values()), created))
        migrate(urls)
        yield urls
    finally:
        if created and not keep:
            drop_databases(postgres_url, created, backoff=drop_backoff, report=report)


async def _create(url: str, names: list[str], created: list[str]) -> None:
    """Create ``names``, each added to ``created`` just before its CREATE is sent: one
    interrupted in flight may exist, and dropping one that does not is harmless."""
    engine = open_database(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for name in names:
                created.append(name)
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError as error:
        raise _cannot_reach(url, error) from None
    finally:
        await engine.dispose()


def new_prefix() -> str:
    return f"chaos_{uuid.uuid4().hex[:8]}"


def scratch_names(prefix: str) -> dict[str, str]:
    """The PostgreSQL database of each service, by service name."""
    return {name: f"{prefix}_{name}" for name in DATABASES}


def drop_databases(
    postgres_url: str, names: list[str], *, backoff: Backoff = DEFAULT_BACKOFF, report: Report
) -> None:
    """Drop ``names`` if they exist; never raises for an unreachable server, says so."""
    statements = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names]
    try:
        asyncio.run(
            retrying(
                lambda: execute_statements(postgres_url, statements),
                what="dropping the scratch databases",
                backoff=backoff,
                on_retry=report,
            )
        )
    except DatabaseUnreachable as error:
        report(f"{error}\nDrop them by hand: {drop_command(postgres_url, names)}")


def drop_command(postgres_url: str, names: list[str]) -> str:
    """A psql command line that drops ``names`` on the server of ``postgres_url``."""
    url = make_url(postgres_url)
    server = f"-h {url.host or '127.0.0.1'} -p {url.port or 5432} -U {url.username or 'postgres'}"
    drops = " ".join(f"-c 'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)'" for name in names)
    return f"psql {server} {drops}"


async def admin_statements(url: str, statements: list[str]) -> None:
    """Run ``statements`` outside a transaction; exit with advice if the server is down."""
    try:
        await execute_statements(url, statements)
    except OSError as error:
        raise _cannot_reach(url, error) from None


def _cannot_reach(url: str, error: OSError) -> SystemExit:
    return SystemExit(
        f"PostgreSQL at {url} cannot be reached ({error}); start it or pass another --postgres-url"
    )


async def execute_statements(url: str, statements: list[str]) -> None:
    engine = open_database(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
