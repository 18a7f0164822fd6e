"""The checkout's Alembic environment: one revision chain over four databases.

Each revision defines ``upgrade_<database>()`` only for the databases it touches; every
database records the same head in its own ``alembic_version`` table (Alembic's multidb
style). ``alembic upgrade head`` from the repository root uses ``alembic.ini``;
:func:`upgrade_all` does the same from code.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

DATABASES = ("orders", "payment", "inventory", "shipping")
SCRIPT_LOCATION = Path(__file__).resolve().parent


def database_urls() -> dict[str, str]:
    """Each database's URL: ``<NAME>_DATABASE_URL``, else a SQLite file in the data dir."""
    data_dir = os.environ.get("CHECKOUT_DATA_DIR", "data")
    return {
        name: os.environ.get(f"{name.upper()}_DATABASE_URL")
        or f"sqlite+aiosqlite:///{data_dir}/{name}.db"
        for name in DATABASES
    }


def upgrade_all(urls: dict[str, str] | None = None) -> None:
    """Migrate to head: all four databases from the environment, or exactly ``urls``.

    Runs its own event loop, so call it from synchronous code (or a worker thread),
    never from inside a running loop.
    """
    urls = database_urls() if urls is None else dict(urls)
    unknown = set(urls) - set(DATABASES)
    if unknown:
        raise ValueError(f"unknown databases {sorted(unknown)}; known: {DATABASES}")
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("databases", ", ".join(urls))
    config.attributes["urls"] = urls
    command.upgrade(config, "head")
