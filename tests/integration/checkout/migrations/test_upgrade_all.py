"""The checkout's migrations on empty databases of the backend under test."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from checkout.common.database import Database
from checkout.inventory import tables as inventory_tables
from checkout.migrations import DATABASES, SCRIPT_LOCATION, upgrade_all
from checkout.payment import tables as payment_tables
from checkout.shipping import tables as shipping_tables
from tests.conftest import DatabaseFactory

EXPECTED_TABLES = {
    "orders": {"alembic_version"},
    "payment": {"alembic_version", *payment_tables.metadata.tables},
    "inventory": {"alembic_version", *inventory_tables.metadata.tables},
    "shipping": {"alembic_version", *shipping_tables.metadata.tables},
}
HEAD = ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()


async def tables_and_version(url: str) -> tuple[set[str], str | None]:
    database = Database(url)
    try:
        async with database.reading() as connection:
            names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            version = await connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    finally:
        await database.dispose()
    return set(names), version


async def test_upgrade_all_creates_every_database_schema_at_head(
    make_database_url: DatabaseFactory,
) -> None:
    urls = {name: await make_database_url(name) for name in DATABASES}
    await asyncio.to_thread(upgrade_all, urls)
    await asyncio.to_thread(upgrade_all, urls)  # a second run finds nothing to do
    for name, url in urls.items():
        tables, version = await tables_and_version(url)
        assert EXPECTED_TABLES[name] <= tables, name
        assert version == HEAD


async def test_inventory_migration_seeds_ten_products_of_1000_units(
    make_database_url: DatabaseFactory,
) -> None:
    url = await make_database_url("inventory")
    await asyncio.to_thread(upgrade_all, {"inventory": url})
    database = Database(url)
    try:
        async with database.reading() as connection:
            rows = (await connection.execute(sa.text("SELECT * FROM products"))).all()
    finally:
        await database.dispose()
    assert sorted(rows) == sorted((f"product{n}", 1000) for n in range(1, 11))
