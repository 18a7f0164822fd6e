"""Creating and upgrading the store's tables with the engine's own Alembic history.

The engine keeps its own version table, so an application can apply these migrations
to a database that also holds its own tables, under its own Alembic history, without
the two histories knowing of each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "sagakit_alembic_version"
SCRIPTS = Path(__file__).parent / "migrations"


def upgrade_schema(connection: Connection, *, revision: str = "heads") -> None:
    """Bring the saga tables on ``connection`` up to ``revision``; the caller commits.

    Runs the migration scripts directly rather than through ``alembic.command``, so it
    can be called from inside another Alembic environment (the application's env.py).
    """
    script = ScriptDirectory(str(SCRIPTS))

    def steps(current: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs(revision, current)

    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "script": script, "fn": steps}
    )
    with Operations.context(context):
        context.run_migrations()


async def upgrade(engine: AsyncEngine) -> None:
    """Create or upgrade the saga tables in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(upgrade_schema)
