"""``Database.run`` on its worker threads, on the backend chosen by ``TEST_DATABASE``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from checkout.common import database as database_module
from checkout.common.database import Database


async def test_a_burst_of_first_transactions_shares_one_engine(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[Engine] = []
    real = database_module.create_sync_engine

    def counting(url: str, **options: Any) -> Engine:
        created.append(real(url, **options))
        return created[-1]

    monkeypatch.setattr(database_module, "create_sync_engine", counting)
    database = Database(database_url)

    def slow_select(connection: Connection) -> int:
        time.sleep(0.05)  # every worker thread is busy at once
        return int(connection.execute(text("SELECT 1")).scalar_one())

    try:
        answers = await asyncio.gather(*(database.run(slow_select) for _ in range(8)))
    finally:
        await database.dispose()

    assert answers == [1] * 8
    assert len(created) == 1
