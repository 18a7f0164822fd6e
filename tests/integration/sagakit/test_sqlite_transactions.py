"""SQLite transactions asked for in one turn of the event loop commit together, each
still all-or-nothing on its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from sagakit.store import StoreCounters
from sagakit.store.sqlite_transactions import SqliteTransactions, driver


@pytest.fixture
def path(tmp_path: Path) -> str:
    database = str(tmp_path / "notes.db")
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # as every database migrated here
        connection.execute("CREATE TABLE notes (body TEXT PRIMARY KEY)")
    return database


@pytest.fixture
def counters() -> StoreCounters:
    return StoreCounters()


@pytest.fixture
def transactions(path: str, counters: StoreCounters) -> Iterator[SqliteTransactions]:
    transactions = SqliteTransactions(path, thread_name="test-sqlite", instrumentation=counters)
    yield transactions
    transactions.close()


def add(body: str) -> Callable[[Connection], str]:
    """Work that inserts one note on the driver and says which thread it ran on."""

    def work(connection: Connection) -> str:
        driver(connection).execute("INSERT INTO notes (body) VALUES (?)", (body,))
        return threading.current_thread().name

    return work


def add_through_sqlalchemy(body: str) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
        return body

    return work


def add_then_fail(body: str) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        driver(connection).execute("INSERT INTO notes (body) VALUES (?)", (body,))
        raise ValueError(f"refused {body}")

    return work


def stored(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT body FROM notes ORDER BY body")]


async def test_transactions_asked_in_one_turn_share_one_commit(
    transactions: SqliteTransactions, path: str, counters: StoreCounters
) -> None:
    answers = await asyncio.gather(
        transactions.run(add("a"), managed=False),
        transactions.run(add_through_sqlalchemy("b")),
        transactions.run(add("c"), managed=False),
    )

    assert answers == [threading.current_thread().name, "b", threading.current_thread().name]
    assert counters.commits == 1
    assert stored(path) == ["a", "b", "c"]


async def test_one_alone_commits_without_savepoints(
    transactions: SqliteTransactions, path: str, counters: StoreCounters
) -> None:
    await transactions.run(add("a"), managed=False)

    assert counters.commits == 1
    assert counters.statements == 3  # BEGIN IMMEDIATE, the insert, COMMIT
    assert stored(path) == ["a"]


async def test_one_that_raises_is_rolled_back_alone_and_its_caller_gets_the_error(
    transactions: SqliteTransactions, path: str, counters: StoreCounters
) -> None:
    answers = await asyncio.gather(
        transactions.run(add("a"), managed=False),
        transactions.run(add_then_fail("lost")),
        transactions.run(add("a"), managed=False),  # the same key again: a constraint fails
        transactions.run(add("c"), managed=False),
        return_exceptions=True,
    )

    assert counters.commits == 1
    assert isinstance(answers[1], ValueError) and str(answers[1]) == "refused lost"
    assert isinstance(answers[2], IntegrityError)
    assert stored(path) == ["a", "c"]


async def test_alone_one_that_raises_leaves_nothing(
    transactions: SqliteTransactions, path: str
) -> None:
    with pytest.raises(ValueError, match="refused lost"):
        await transactions.run(add_then_fail("lost"), managed=False)
    await transactions.run(add_through_sqlalchemy("b"))
    with pytest.raises(IntegrityError):
        await transactions.run(add_through_sqlalchemy("b"))

    assert stored(path) == ["b"]


async def test_a_batch_that_finds_the_lock_taken_commits_together_on_the_thread(
    transactions: SqliteTransactions, path: str, counters: StoreCounters
) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        batch = asyncio.gather(
            transactions.run(add("a"), managed=False), transactions.run(add("b"), managed=False)
        )
        await asyncio.sleep(0.1)  # the loop goes on while the batch waits
        assert not batch.done()
        behind = asyncio.ensure_future(transactions.run(add("c"), managed=False))
        await asyncio.sleep(0.1)
        other.execute("COMMIT")

        threads = await batch
        assert all(name.startswith("test-sqlite") for name in threads)
        assert (await behind).startswith("test-sqlite")  # queued behind, in order
        assert counters.lock_waits == 1
        assert await transactions.run(add("d"), managed=False) == threading.current_thread().name
    finally:
        other.close()
    assert stored(path) == ["a", "b", "c", "d"]


async def test_a_transaction_cancelled_before_its_commit_never_runs(
    transactions: SqliteTransactions, path: str
) -> None:
    kept = asyncio.ensure_future(transactions.run(add("kept"), managed=False))
    dropped = asyncio.ensure_future(transactions.run(add("dropped"), managed=False))
    await asyncio.sleep(0)  # both asked, the commit not yet run
    dropped.cancel()

    await kept
    assert stored(path) == ["kept"]
