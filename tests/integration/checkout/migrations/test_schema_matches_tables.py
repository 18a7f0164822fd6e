"""Each participant's tables, as the code declares them, are what the migrations build:
a column, index or constraint added to one and not the other is found here."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from checkout.common.database import Database
from checkout.inventory import tables as inventory_tables
from checkout.migrations import upgrade_all
from checkout.payment import tables as payment_tables
from checkout.shipping import tables as shipping_tables
from tests.conftest import DatabaseFactory

METADATA = {
    "payment": payment_tables.metadata,
    "inventory": inventory_tables.metadata,
    "shipping": shipping_tables.metadata,
}


def differences(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        difference
        for difference in compare_metadata(context, metadata)
        if difference[:1] != ("remove_table",) or difference[1].name != "alembic_version"
    ]


@pytest.mark.parametrize("name", list(METADATA))
async def test_the_migrated_schema_is_the_one_the_tables_declare(
    make_database_url: DatabaseFactory, name: str
) -> None:
    url = await make_database_url(name)
    await asyncio.to_thread(upgrade_all, {name: url})
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            found = await connection.run_sync(differences, METADATA[name])
    finally:
        await database.dispose()

    assert found == []
