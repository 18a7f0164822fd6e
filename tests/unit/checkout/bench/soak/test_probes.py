"""What the soak's rows read from SQLite databases: sizes, and connections as open
file descriptors, from a made-up ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path

from checkout.bench.soak.probes import SqliteProbe, descriptors_on


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
