"""What a soak's rows read from the running system: each service's memory, its open
database connections, and the size of the four databases.

SQLite has no server to ask who is connected, so a service's connections are counted
as the file descriptors it holds on its ``.db`` file: SQLite opens the file once per
connection. Where ``/proc`` cannot be read, the count is "n/a" rather than a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.bench.memory import resident_mib
from checkout.bench.soak.report import FREE_PAGES
from sagakit.database import open_database

PROBE_NAME = "checkout-soak-probe"
"""The probe's ``application_name`` on PostgreSQL: its own connections are not counted."""


class Probe(Protocol):
    async def connections(self) -> Mapping[str, int] | None: ...

    async def database_bytes(self) -> int: ...

    async def table_bytes(self) -> dict[str, int]:
        """Bytes by ``service.table``, each table with its indexes."""
        ...

    async def close(self) -> None: ...


def memory(pids: Mapping[str, int]) -> dict[str, float]:
    """Each service's resident set size, MiB."""
    return {name: resident_mib(pid) for name, pid in pids.items()}


def descriptors_on(pid: int, path: Path, *, proc: Path = Path("/proc")) -> int | None:
    """How many of process ``pid``'s file descriptors are open on ``path``; None if its
    descriptors cannot be read."""
    folder = proc / str(pid) / "fd"
    target = os.path.realpath(path)
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    count = 0
    for entry in entries:
        try:
            count += os.readlink(folder / entry) == target
        except OSError:  # closed since the listing
            continue
    return count


class SqliteProbe:
    def __init__(self, urls: Mapping[str, str], pids: Mapping[str, int]) -> None:
        self._files = {name: Path(make_url(url).database or "") for name, url in urls.items()}
        self._pids = pids

    async def connections(self) -> Mapping[str, int] | None:
        counted = {name: descriptors_on(self._pids[name], f) for name, f in self._files.items()}
        if any(count is None for count in counted.values()):
            return None
        return {name: count for name, count in counted.items() if count is not None}

    async def database_bytes(self) -> int:
        """The database files with their write-ahead logs, where committed pages wait
        to be checkpointed into the file."""
        total = 0
        for database in self._files.values():
            for path in (database, database.with_name(database.name + "-wal")):
                with contextlib.suppress(FileNotFoundError):  # no log until the first write
                    total += path.stat().st_size
        return total

    async def table_bytes(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for name, database in self._files.items():
            tables = await asyncio.to_thread(_sqlite_tables, database)
            found.update({f"{name}.{table}": size for table, size in tables.items()})
        return found

    async def close(self) -> None:
        return None


def _sqlite_tables(database: Path) -> dict[str, int]:
    """Pages by table (its indexes included) from SQLite's ``dbstat``, and free pages."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT m.tbl_name, sum(s.pgsize) FROM dbstat AS s "
            "JOIN sqlite_master AS m ON m.name = s.name GROUP BY m.tbl_name"
        ).fetchall()
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        page = connection.execute("PRAGMA page_size").fetchone()[0]
    return {**{table: int(size) for table, size in rows}, FREE_PAGES: free * page}


class PostgresProbe:
    """Asks the server, mostly over one connection to its maintenance database. Table
    sizes need one to each service's database: those carry :data:`PROBE_NAME`, and no
    count includes them."""

    def __init__(self, server_url: str, urls: Mapping[str, str]) -> None:
        self._urls = dict(urls)
        self._names = {name: make_url(url).database or "" for name, url in urls.items()}
        self._engine = _probe_engine(server_url)

    async def connections(self) -> Mapping[str, int] | None:
        query = text(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IN :names "
            "AND application_name <> :probe GROUP BY datname"
        ).bindparams(bindparam("names", expanding=True))
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                query, {"names": list(self._names.values()), "probe": PROBE_NAME}
            )
            counts = {datname: int(count) for datname, count in rows}
        return {name: counts.get(database, 0) for name, database in self._names.items()}

    async def database_bytes(self) -> int:
        query = text(
            "SELECT coalesce(sum(pg_database_size(datname)), 0) FROM pg_database "
            "WHERE datname IN :names"
        ).bindparams(bindparam("names", expanding=True))
        async with self._engine.connect() as connection:
            result = await connection.execute(query, {"names": list(self._names.values())})
            return int(result.scalar_one())

    async def table_bytes(self) -> dict[str, int]:
        query = text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
        )
        found: dict[str, int] = {}
        for name, url in self._urls.items():
            engine = _probe_engine(url)
            try:
                async with engine.connect() as connection:
                    for table, size in await connection.execute(query):
                        found[f"{name}.{table}"] = int(size)
            finally:
                await engine.dispose()
        return found

    async def close(self) -> None:
        await self._engine.dispose()


def _probe_engine(url: str) -> AsyncEngine:
    return open_database(
        url, pool_size=1, connect_args={"server_settings": {"application_name": PROBE_NAME}}
    )
