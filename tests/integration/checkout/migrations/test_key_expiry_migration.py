"""Revision 0008 (answers and tombstones that expire) on the backend under test: down
and up again, every row is kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from checkout.common.database import Database
from checkout.migrations import SCRIPT_LOCATION, upgrade_all
from tests.conftest import DatabaseFactory

BEFORE = "0007_order_outcomes"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def downgrade(name: str, url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("databases", name)
    config.attributes["urls"] = {name: url}
    command.downgrade(config, revision)


def write_rows(connection: sa.Connection) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO answers (idempotency_key, request_hash, status_code, body, created_at)"
            " VALUES ('k', 'h', 200, '{}', :now)"
        ),
        {"now": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO compensated_orders (order_id, idempotency_key, created_at)"
            " VALUES ('o', 'c', :now)"
        ),
        {"now": NOW},
    )


def read_rows(connection: sa.Connection) -> list[tuple[object, ...]]:
    keys = connection.execute(sa.text("SELECT idempotency_key FROM answers")).all()
    tombstones = connection.execute(sa.text("SELECT order_id FROM compensated_orders")).all()
    return [tuple(row) for row in [*keys, *tombstones]]


@pytest.mark.parametrize("name", ["payment", "inventory", "shipping"])
async def test_down_a_revision_and_up_again_keeps_every_answer_and_tombstone(
    make_database_url: DatabaseFactory, name: str
) -> None:
    url = await make_database_url(name)
    await asyncio.to_thread(upgrade_all, {name: url})
    await asyncio.to_thread(downgrade, name, url, BEFORE)
    database = Database(url)
    try:
        await database.run(write_rows)
        await asyncio.to_thread(upgrade_all, {name: url})
        kept = await database.run(read_rows)
        expires = await database.run(
            lambda connection: connection.scalar(sa.text("SELECT expires_at FROM answers"))
        )
        await asyncio.to_thread(downgrade, name, url, BEFORE)
        kept_after_downgrade = await database.run(read_rows)
    finally:
        await database.dispose()

    assert kept == kept_after_downgrade == [("k",), ("o",)]
    assert expires is None  # written before the revision: kept for good
