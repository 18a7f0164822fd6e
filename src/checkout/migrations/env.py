"""Alembic environment for the checkout's four databases (multidb, async engines).

URLs come from ``config.attributes["urls"]`` when :func:`checkout.migrations.upgrade_all`
passes them, otherwise from the environment. The orders database also holds the saga
engine's tables, which sagakit migrates itself, before the checkout's revisions run.
"""

from __future__ import annotations

import asyncio
import logging
import re
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from checkout.migrations import database_urls
from sagakit.database import open_database

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def _urls() -> dict[str, str]:
    names = [name for name in re.split(r",\s*", config.get_main_option("databases", "")) if name]
    given: dict[str, str] = config.attributes.get("urls") or database_urls()
    return {name: given[name] for name in names}


def _migrate(connection: Connection, name: str) -> None:
    if name == "orders":
        from sagakit.migrate import upgrade_schema  # the engine owns its own tables

        upgrade_schema(connection)
        if connection.in_transaction():
            connection.commit()
    context.configure(
        connection=connection,
        upgrade_token=f"{name}_upgrades",
        downgrade_token=f"{name}_downgrades",
        target_metadata=None,
    )
    with context.begin_transaction():
        context.run_migrations(engine_name=name)


async def _migrate_database(name: str, url: str) -> None:
    logger.info("Migrating database %s", name)
    engine = open_database(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, name)
    finally:
        await engine.dispose()


async def _migrate_all() -> None:
    for name, url in _urls().items():
        await _migrate_database(name, url)


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them online.")
asyncio.run(_migrate_all())
