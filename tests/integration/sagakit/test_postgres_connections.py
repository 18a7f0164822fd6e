"""The PostgreSQL store's one-statement writes when the server drops its connections."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from sagakit import SagaEngine, SqlSagaStore, open_database
from tests.conftest import test_database_backend
from tests.support.participants import FakeParticipant, saga_over

pytestmark = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql); SQLite has no server to drop them",
)


async def drop_connections(database_url: str) -> int:
    """What an administrator or a failover does: end every session on the database."""
    admin = open_database(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            ended = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return int(ended.scalar_one())
    finally:
        await admin.dispose()


async def test_a_dropped_connection_fails_one_write_and_is_not_handed_out_again(
    sql_store: SqlSagaStore, database_url: str
):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=sql_store, sagas=[saga])
    await sql_store.create(engine.new_state(saga, input={}), owner=engine.owner)
    assert await drop_connections(database_url) >= 1

    lost = engine.new_state(saga, input={})
    # Which error depends on how much of the server's goodbye asyncpg has read: none
    # (the socket is simply gone), the reset mid-statement, or the shutdown message.
    with pytest.raises(
        (
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            asyncpg.PostgresConnectionError,
            asyncpg.AdminShutdownError,
        )
    ):
        await sql_store.create(lost, owner=engine.owner)
    kept = await sql_store.create(engine.new_state(saga, input={}), owner=engine.owner)

    assert await sql_store.load(kept.id) == kept
    assert await sql_store.load(lost.id) is None
