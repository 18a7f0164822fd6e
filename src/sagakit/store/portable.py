"""How the store's writes reach any database SQLAlchemy speaks: each one transaction on
the async engine.

SQLite files and PostgreSQL have faster transports (``sqlite``, ``postgres``); this one
serves an in-memory SQLite database, and on PostgreSQL the rare writes it has no
one-statement form of (an operator's retry or abort).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from sagakit.store.alongside import Alongside, as_function
from sagakit.store.compiled import Write, lease_lost


class EngineTransport:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, writes: Sequence[Write], *, alongside: Alongside | None = None) -> None:
        async with self._engine.begin() as conn:
            if alongside is not None:
                await conn.run_sync(as_function(alongside))
            for write in writes:
                result = await conn.execute(write.statement, dict(write.params))
                if write.fenced is not None and result.rowcount != 1:
                    raise lease_lost(write.fenced)
