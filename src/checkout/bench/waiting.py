"""What a saga that waits for an event costs: rows, bytes and CPU to park it, and whether
many of them weigh on the engine's memory or on the query that finds due sagas.

Sagas of one instant step that then waits a day for an event are started in batches
on the real store (one process, the engine in it); after each batch the run reads the
process's RSS and times ``claim_due`` (which must not slow down as waiting sagas pile
up: they are not due). Bytes are the saga tables' growth on disk (SQLite's ``dbstat``,
PostgreSQL's ``pg_total_relation_size``), so indexes count.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.chaos.databases import DEFAULT_POSTGRES_URL, admin_statements
from sagakit import JSON, Await, Saga, SagaEngine, SqlSagaStore, Step, StepContext, open_database
from sagakit.migrate import upgrade

TABLES = ("sagakit_sagas", "sagakit_attempts", "sagakit_signals")
CLAIM_SAMPLES = 20


async def _challenge(context: StepContext) -> JSON:
    return {"challenge": context.saga_id[:8]}


SAGA = Saga(
    "waiting",
    1,
    (Step("confirm", _challenge, wait=Await(event="confirmed", timeout=timedelta(days=1))),),
)


@dataclass(frozen=True)
class WaitingPoint:
    waiting: int
    rss_mib: float
    claim_due_ms: float
    """Median time of a ``claim_due`` that finds nothing due."""


@dataclass(frozen=True)
class WaitingCost:
    backend: str
    waiting: int
    rows_per_saga: float
    bytes_per_saga: float
    cpu_seconds_per_10k: float
    points: list[WaitingPoint]


def measure_waiting(
    backend: str,
    *,
    sagas: int,
    every: int,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    on_point: Callable[[WaitingPoint], None] = lambda _point: None,
) -> WaitingCost:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(folder)}/waiting.db"
            return asyncio.run(_measure(backend, url, sagas, every, on_point))
        name = f"waiting_{int(time.time())}"
        asyncio.run(admin_statements(postgres_url, [f'CREATE DATABASE "{name}"']))
        try:
            url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
            return asyncio.run(_measure(backend, url, sagas, every, on_point))
        finally:
            asyncio.run(
                admin_statements(postgres_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
            )


async def _measure(
    backend: str, url: str, sagas: int, every: int, on_point: Callable[[WaitingPoint], None]
) -> WaitingCost:
    database = open_database(url)
    await upgrade(database)
    store = SqlSagaStore(database)
    engine = SagaEngine(store=store, sagas=[SAGA], max_concurrency=64)
    points: list[WaitingPoint] = []
    try:
        rows_before, bytes_before = await _rows(database), await _bytes(database, backend)
        points.append(await _point(engine, store, 0))
        on_point(points[-1])
        cpu = 0.0
        parked = 0
        while parked < sagas:
            batch = min(every, sagas - parked)
            cpu_before = time.process_time()
            await _park(engine, batch)
            cpu += time.process_time() - cpu_before
            parked += batch
            points.append(await _point(engine, store, parked))
            on_point(points[-1])
        rows = (await _rows(database) - rows_before) / sagas
        size = (await _bytes(database, backend) - bytes_before) / sagas
    finally:
        await engine.close()
        store.close()
        await database.dispose()
    return WaitingCost(
        backend=backend,
        waiting=sagas,
        rows_per_saga=rows,
        bytes_per_saga=size,
        cpu_seconds_per_10k=cpu / sagas * 10_000,
        points=points,
    )


async def _park(engine: SagaEngine, count: int) -> None:
    """Start ``count`` sagas, at most 64 at a time, and wait until each has parked."""
    slots = asyncio.Semaphore(64)

    async def one() -> None:
        async with slots:
            handle = await engine.start(SAGA, input={})
            rested = await handle.rest()
            assert rested.wait_until is not None, "the saga should wait for its event"

    await asyncio.gather(*(one() for _ in range(count)))


async def _point(engine: SagaEngine, store: SqlSagaStore, waiting: int) -> WaitingPoint:
    gc.collect()
    timings = []
    for _ in range(CLAIM_SAMPLES):
        started = time.perf_counter()
        claimed = await store.claim_due(owner="bench", limit=64)
        timings.append(time.perf_counter() - started)
        assert not claimed, "a waiting saga was due: the benchmark's wait is a day long"
    return WaitingPoint(
        waiting=waiting,
        rss_mib=_rss_mib(),
        claim_due_ms=statistics.median(timings) * 1000,
    )


def _rss_mib() -> float:
    """The process's resident memory now (``/proc``), in MiB."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # not Linux: the peak is the best the platform says
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _rows(database: AsyncEngine) -> int:
    async with database.connect() as connection:
        counts = [
            (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in TABLES
        ]
    return sum(int(count) for count in counts)


async def _bytes(database: AsyncEngine, backend: str) -> int:
    async with database.connect() as connection:
        if backend == "sqlite":
            # Every table and index whose name starts with the saga tables' prefix.
            query = "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'sagakit%' OR name LIKE "
            query += "'sqlite_autoindex_sagakit%' OR name LIKE 'ix_sagakit%'"
            return int((await connection.execute(text(query))).scalar_one() or 0)
        sizes = [
            (
                await connection.execute(text(f"SELECT pg_total_relation_size('{table}')"))
            ).scalar_one()
            for table in TABLES
        ]
        return sum(int(size) for size in sizes)
