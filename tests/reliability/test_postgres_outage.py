"""A PostgreSQL that goes away for a moment while the chaos run waits for the sagas or
reads the books: the run reads again once it is back, instead of crashing."""

from __future__ import annotations

import asyncio

import pytest

from checkout.chaos.invariants import check_books, pending_sagas
from checkout.chaos.retry import Backoff, retrying
from checkout.migrations import DATABASES, upgrade_all
from tests.conftest import DatabaseFactory, test_database_backend
from tests.reliability.outage import Outage

pytestmark = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql): a SQLite file cannot be unreachable",
)


class EndsOutageOnSecondRetry:
    """The retry loop's sleep: it does not wait, and ends the outage before retry 2."""

    def __init__(self, outage: Outage) -> None:
        self.outage = outage
        self.retries = 0

    async def __call__(self, _seconds: float) -> None:
        self.retries += 1
        if self.retries == 2:
            await self.outage.end()


async def migrated(make_database_url: DatabaseFactory) -> dict[str, str]:
    urls = {name: await make_database_url(name) for name in DATABASES}
    await asyncio.to_thread(upgrade_all, urls)
    return urls


@pytest.mark.parametrize("kind", ["refused", "reset"])
async def test_waiting_for_the_sagas_outlasts_a_brief_outage(
    make_database_url: DatabaseFactory, kind: str
) -> None:
    urls = await migrated(make_database_url)
    async with Outage(urls["orders"], kind=kind) as outage:
        sleep = EndsOutageOnSecondRetry(outage)

        pending = await retrying(
            lambda: pending_sagas(outage.url(urls["orders"])),
            what="waiting for the sagas",
            backoff=Backoff(),
            sleep=sleep,
        )

    assert pending == 0
    assert sleep.retries == 2


async def test_reading_the_books_outlasts_a_brief_outage(
    make_database_url: DatabaseFactory,
) -> None:
    urls = await migrated(make_database_url)
    async with Outage(urls["orders"]) as outage:
        sleep = EndsOutageOnSecondRetry(outage)
        through = {name: outage.url(url) for name, url in urls.items()}

        books = await retrying(
            lambda: check_books(through, stock_received={}, order_ids=set()),
            what="reading the books",
            sleep=sleep,
        )

    assert books.violations == []
    assert sleep.retries == 2
    assert outage.connections >= 4
