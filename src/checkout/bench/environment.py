"""What the benchmark records about where it ran: versions, machine, durability."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
from importlib.metadata import version
from typing import Any

from sqlalchemy import text

from sagakit.database import create_engine

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
        "durability": {
            "ours_sqlite": "journal_mode=WAL, synchronous=FULL",
            "dbos_sqlite": "journal_mode=DELETE, synchronous=FULL (SQLite's default)",
            "participants_sqlite": "journal_mode=WAL, synchronous=FULL",
        },
    }
    if postgres_url:
        described["postgresql"] = asyncio.run(_postgres(postgres_url))
    return described


def _version(name: str) -> str:
    try:
        return version(name)
    except Exception:
        return "not installed"


async def _postgres(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            settings = {}
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method"):
                settings[name] = (await connection.execute(text(f"SHOW {name}"))).scalar_one()
            return settings
    finally:
        await engine.dispose()
