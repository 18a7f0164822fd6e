"""What the soak reads from SQLite databases: sizes, table by table, and connections
as open file descriptors, from a made-up ``/proc``."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from checkout.bench.soak.probes import SqliteProbe, descriptors_on
from checkout.bench.soak.report import FREE_PAGES


def test_connections_are_the_descriptors_open_on_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "orders.db"
    database.write_bytes(b"")
    fd = tmp_path / "proc" / "42" / "fd"
    fd.mkdir(parents=True)
    for number, target in enumerate([database, database, tmp_path / "orders.db-wal", "/dev/null"]):
        os.symlink(target, fd / str(number))

    assert descriptors_on(42, database, proc=tmp_path / "proc") == 2


def test_descriptors_that_cannot_be_read_are_not_guessed(tmp_path: Path) -> None:
    assert descriptors_on(42, tmp_path / "orders.db", proc=tmp_path / "proc") is None


async def test_a_databases_size_counts_its_write_ahead_log(tmp_path: Path) -> None:
    (tmp_path / "orders.db").write_bytes(b"x" * 4096)
    (tmp_path / "orders.db-wal").write_bytes(b"x" * 1000)
    (tmp_path / "payment.db").write_bytes(b"x" * 100)
    urls = {name: f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in ("orders", "payment")}

    assert await SqliteProbe(urls, pids={}).database_bytes() == 5196


async def test_table_sizes_count_indexes_with_their_table_and_free_pages_apart(
    tmp_path: Path,
) -> None:
    database = tmp_path / "orders.db"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("CREATE TABLE pruned (id TEXT PRIMARY KEY, body TEXT)")
        connection.execute("CREATE INDEX ix_pruned_body ON pruned (body)")
        rows = [(str(i), "x" * 500) for i in range(200)]
        connection.executemany("INSERT INTO kept (body) VALUES (?)", [(r[1],) for r in rows])
        connection.executemany("INSERT INTO pruned VALUES (?, ?)", rows)
        connection.commit()
        connection.execute("DELETE FROM pruned WHERE id <> '0'")
        connection.commit()
    probe = SqliteProbe({"orders": f"sqlite+aiosqlite:///{database}"}, pids={})

    sizes = await probe.table_bytes()

    assert set(sizes) == {"orders.kept", "orders.pruned", f"orders.{FREE_PAGES}"}
    assert sizes["orders.kept"] > 100_000
    assert sizes[f"orders.{FREE_PAGES}"] > 100_000  # what the delete emptied
    assert sizes["orders.pruned"] < sizes[f"orders.{FREE_PAGES}"]
