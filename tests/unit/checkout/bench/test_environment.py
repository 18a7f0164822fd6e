import sqlite3
from contextlib import closing
from pathlib import Path

from checkout.bench.environment import sqlite_durability


def test_our_sqlite_databases_report_the_settings_our_engine_sets(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"

    settings = sqlite_durability({"ours": url}, {})

    assert settings == {"ours": "journal_mode=wal, synchronous=FULL"}


def test_a_foreign_database_reports_the_journal_mode_kept_in_its_file(tmp_path: Path) -> None:
    path = tmp_path / "dbos.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")

    settings = sqlite_durability({}, {"dbos": f"sqlite:///{path}"})

    assert settings == {"dbos": "journal_mode=wal, synchronous=FULL"}
