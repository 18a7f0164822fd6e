"""``Database.run``: on SQLite on the event loop unless the write lock is taken, on
PostgreSQL on its worker threads; on the backend chosen by ``TEST_DATABASE``."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from checkout.common import database as database_module
from checkout.common.database import Database
from tests.conftest import test_database_backend

postgresql_only = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql): SQLite runs no worker threads",
)
sqlite_only = pytest.mark.skipif(
    test_database_backend() != "sqlite", reason="SQLite only: its transactions run on the loop"
)


def create_table(connection: Connection) -> None:
    connection.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))


def add_note(connection: Connection, body: str) -> str:
    connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
    return threading.current_thread().name


def notes(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT body FROM notes ORDER BY rowid")).scalars())


@postgresql_only
async def test_a_burst_of_first_transactions_shares_one_engine(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[Engine] = []
    real = database_module.create_sync_engine

    def counting(url: str, **options: Any) -> Engine:
        created.append(real(url, **options))
        return created[-1]

    monkeypatch.setattr(database_module, "create_sync_engine", counting)
    database = Database(database_url)

    def slow_select(connection: Connection) -> int:
        time.sleep(0.05)  # every worker thread is busy at once
        return int(connection.execute(text("SELECT 1")).scalar_one())

    try:
        answers = await asyncio.gather(*(database.run(slow_select) for _ in range(8)))
    finally:
        await database.dispose()

    assert answers == [1] * 8
    assert len(created) == 1


@sqlite_only
async def test_on_sqlite_a_transaction_runs_on_the_event_loop(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.run(create_table)
        ran_on = await database.run(add_note, "first")
        assert ran_on == threading.current_thread().name
        assert not [t for t in threading.enumerate() if t.name.startswith("database")]
        assert await database.run(notes) == ["first"]
    finally:
        await database.dispose()


@sqlite_only
async def test_on_sqlite_a_transaction_that_raises_leaves_nothing(database_url: str) -> None:
    database = Database(database_url)

    def add_then_fail(connection: Connection) -> None:
        add_note(connection, "lost")
        raise ValueError("refused")

    try:
        await database.run(create_table)
        with pytest.raises(ValueError, match="refused"):
            await database.run(add_then_fail)
        assert await database.run(notes) == []
    finally:
        await database.dispose()


@sqlite_only
async def test_on_sqlite_a_transaction_that_finds_the_lock_taken_waits_off_the_loop(
    database_url: str,
) -> None:
    database = Database(database_url)
    other = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        await database.run(create_table)
        other.execute("BEGIN IMMEDIATE")  # another process writing
        waiting = asyncio.create_task(database.run(add_note, "waited"))
        behind = asyncio.create_task(database.run(add_note, "queued"))
        await asyncio.sleep(0.2)  # the loop keeps running while both wait
        assert not waiting.done() and not behind.done()
        other.execute("COMMIT")

        assert (await waiting).startswith("database")
        assert (await behind).startswith("database")  # in order, behind the one waiting
        assert await database.run(add_note, "after") == threading.current_thread().name
        assert await database.run(notes) == ["waited", "queued", "after"]
    finally:
        other.close()
        await database.dispose()
