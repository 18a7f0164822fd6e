"""The background pruner carries on through a database that fails: one line logged per
outage, never a crash."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from checkout.common.answers import answers_table
from checkout.common.pruning import KeyPruner

ANSWERS = answers_table(sa.MetaData())


class FailingDatabase:
    """Fails every transaction with ``error``; after ``passes`` of them, stops the run."""

    def __init__(self, error: Exception, *, passes: int, stop: asyncio.Event) -> None:
        self.error, self.passes, self.stop = error, passes, stop
        self.calls = 0

    async def run(self, work: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls >= self.passes:
            self.stop.set()
        raise self.error


async def run_until_stopped(error: Exception, *, passes: int) -> FailingDatabase:
    stop = asyncio.Event()
    database = FailingDatabase(error, passes=passes, stop=stop)
    pruner = KeyPruner(database=database, tables=[ANSWERS])
    await pruner.run(interval=0, stop=stop)
    return database


async def test_an_unavailable_database_is_logged_once_and_tried_again_each_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="checkout.pruning"):
        database = await run_until_stopped(ConnectionRefusedError("no server"), passes=3)

    assert database.calls == 3
    [line] = caplog.records
    assert "forgetting expired keys: database unavailable" in line.getMessage()


async def test_any_other_failure_is_logged_with_its_traceback_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="checkout.pruning"):
        database = await run_until_stopped(RuntimeError("a bug"), passes=2)

    assert database.calls == 2
    assert {record.exc_info is not None for record in caplog.records} == {True}


def test_a_batch_of_no_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        KeyPruner(
            database=FailingDatabase(RuntimeError(), passes=1, stop=asyncio.Event()),
            tables=[ANSWERS],
            batch=0,
        )
