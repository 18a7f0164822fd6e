"""What the benchmark records about where it ran: versions, machine, durability."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
from contextlib import closing
from importlib.metadata import version
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from sagakit.database import create_sync_engine, open_database

SYNCHRONOUS_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

PACKAGES = (
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "uvloop",
    "httptools",
    "httpx",
    "aiosqlite",
    "asyncpg",
    "psycopg",
    "dbos",
)


def describe(postgres_url: str | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    described: dict[str, Any] = {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "sqlite": sqlite3.sqlite_version,
        "cores": os.cpu_count(),
        "cpu": cpu,
    }
    if postgres_url:
        described["postgresql"] = asyncio.run(_postgres(postgres_url))
    return described


def sqlite_durability(ours: dict[str, str], dbos: dict[str, str]) -> dict[str, str]:
    """The journal mode and ``synchronous`` level each SQLite database runs with.

    Ours are read through our own engine, whose connect hook sets them. DBOS's
    connections set neither (only ``busy_timeout`` and ``foreign_keys``, in dbos 3.4),
    so a plain connection to its file sees what DBOS's connections see.
    """
    settings = {}
    for name, url in ours.items():
        engine = create_sync_engine(url)
        try:
            with engine.connect() as connection:
                settings[name] = _pragmas(connection.connection.dbapi_connection)
        finally:
            engine.dispose()
    for name, url in dbos.items():
        with closing(sqlite3.connect(make_url(url).database or "")) as connection:
            settings[name] = _pragmas(connection)
    return settings


def _pragmas(connection: Any) -> str:
    journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    level = connection.execute("PRAGMA synchronous").fetchone()[0]
    return f"journal_mode={journal_mode}, synchronous={SYNCHRONOUS_LEVELS.get(level, level)}"


def _version(name: str) -> str:
    try:
        return version(name)
    except Exception:
        return "not installed"


async def _postgres(url: str) -> dict[str, str]:
    engine = open_database(url)
    try:
        async with engine.connect() as connection:
            settings = {}
            # autovacuum: without it the space of deleted rows is not reused (a soak's
            # databases grow whatever retention deletes).
            shown = (
                "server_version",
                "fsync",
                "synchronous_commit",
                "wal_sync_method",
                "autovacuum",
            )
            for name in shown:
                settings[name] = (await connection.execute(text(f"SHOW {name}"))).scalar_one()
            return settings
    finally:
        await engine.dispose()
