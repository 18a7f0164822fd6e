"""What a soak's rows read from the running system: each service's memory, its open
database connections, and the size of the four databases.

SQLite has no server to ask who is connected, so a service's connections are counted
as the file descriptors it holds on its ``.db`` file: SQLite opens the file once per
connection. Where ``/proc`` cannot be read, the count is "n/a" rather than a guess.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

from checkout.bench.memory import resident_mib
from sagakit.database import open_database


class Probe(Protocol):
    async def connections(self) -> Mapping[str, int] | None: ...

    async def database_bytes(self) -> int: ...

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

    async def close(self) -> None:
        return None


class PostgresProbe:
    """Asks the server, over one connection to its maintenance database (so the probe
    itself is counted against none of the services')."""

    def __init__(self, server_url: str, urls: Mapping[str, str]) -> None:
        self._names = {name: make_url(url).database or "" for name, url in urls.items()}
        self._engine = open_database(server_url, pool_size=1)

    async def connections(self) -> Mapping[str, int] | None:
        query = text(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IN :names "
            "GROUP BY datname"
        ).bindparams(bindparam("names", expanding=True))
        async with self._engine.connect() as connection:
            rows = await connection.execute(query, {"names": list(self._names.values())})
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

    async def close(self) -> None:
        await self._engine.dispose()
