"""Throw-away databases for the chaos run and the benchmark: SQLite files or fresh
PostgreSQL databases on one server, one per service, dropped afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from checkout.migrations import DATABASES, upgrade_all
from sagakit.database import create_engine

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_databases(
    *, backend: str, folder: Path, postgres_url: str = DEFAULT_POSTGRES_URL, keep: bool = False
) -> Iterator[dict[str, str]]:
    """Four migrated, empty databases; their URLs by service name."""
    if backend == "sqlite":
        urls = {name: f"sqlite+aiosqlite:///{folder / name}.db" for name in DATABASES}
        upgrade_all(urls)
        yield urls
        return
    if backend != "postgresql":
        raise ValueError(f"backend must be sqlite or postgresql, not {backend!r}")
    prefix = f"chaos_{uuid.uuid4().hex[:8]}"
    names = {name: f"{prefix}_{name}" for name in DATABASES}
    asyncio.run(admin_statements(postgres_url, [f'CREATE DATABASE "{n}"' for n in names.values()]))
    base = make_url(postgres_url)
    urls = {
        name: base.set(database=db).render_as_string(hide_password=False)
        for name, db in names.items()
    }
    try:
        upgrade_all(urls)
        yield urls
    finally:
        if not keep:
            asyncio.run(
                admin_statements(
                    postgres_url,
                    [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()],
                )
            )


async def admin_statements(url: str, statements: list[str]) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    except OSError as error:
        raise SystemExit(
            f"PostgreSQL at {url} cannot be reached ({error}); start it or "
            "pass another --postgres-url"
        ) from None
    finally:
        await engine.dispose()
