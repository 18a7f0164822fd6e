"""What the engine itself costs: sagas of instant in-process steps on the real store.

Per saga it records the wall time from ``start`` to ``completed`` and the number of
SQL statements the store issued; the overhead per step is the saga's time divided by
its steps (the actions themselves take no time).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from checkout.chaos.databases import DEFAULT_POSTGRES_URL, admin_statements
from sagakit import JSON, Saga, SagaEngine, SqlSagaStore, Step, StepContext, open_database
from sagakit.migrate import upgrade
from sagakit.store import StoreCounters

STEPS = 3


async def _instant(context: StepContext) -> JSON:
    return {"step": context.step}


SAGA = Saga("overhead", 1, tuple(Step(f"s{i}", _instant, _instant) for i in range(STEPS)))


@dataclass(frozen=True)
class Overhead:
    backend: str
    sagas: int
    per_step_p50_ms: float
    per_step_p99_ms: float
    statements_per_saga: float
    sagas_per_second_concurrent: float


def measure_overhead(
    backend: str, *, sagas: int = 500, postgres_url: str = DEFAULT_POSTGRES_URL
) -> Overhead:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            return asyncio.run(_measure(backend, f"sqlite+aiosqlite:///{Path(folder)}/o.db", sagas))
        name = f"overhead_{int(time.time())}"
        asyncio.run(admin_statements(postgres_url, [f'CREATE DATABASE "{name}"']))
        try:
            url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
            return asyncio.run(_measure(backend, url, sagas))
        finally:
            asyncio.run(
                admin_statements(postgres_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
            )


async def _measure(backend: str, url: str, sagas: int) -> Overhead:
    engine = open_database(url)
    await upgrade(engine)
    counters = StoreCounters()
    store = SqlSagaStore(engine, instrumentation=counters)
    sagakit = SagaEngine(store=store, sagas=[SAGA], max_concurrency=64)
    try:
        for _ in range(20):
            await sagakit.run(SAGA, input={})
        statements_before = counters.statements
        per_step: list[float] = []
        for _ in range(sagas):
            started = time.perf_counter()
            await sagakit.run(SAGA, input={})
            per_step.append((time.perf_counter() - started) / STEPS)
        per_saga = (counters.statements - statements_before) / sagas
        started = time.perf_counter()
        await asyncio.gather(*(sagakit.run(SAGA, input={}) for _ in range(sagas)))
        concurrent = sagas / (time.perf_counter() - started)
    finally:
        store.close()
        await engine.dispose()
    ordered = sorted(per_step)
    return Overhead(
        backend=backend,
        sagas=sagas,
        per_step_p50_ms=statistics.median(per_step) * 1000,
        per_step_p99_ms=ordered[int(0.99 * len(ordered))] * 1000,
        statements_per_saga=per_saga,
        sagas_per_second_concurrent=concurrent,
    )
