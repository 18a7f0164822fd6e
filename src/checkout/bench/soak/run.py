"""The soak: the real system (four services, all on one backend, retention on), a
closed loop of C customers for a duration, a row every so often, then the books.

The load stops at the duration: customers finish the order in hand and place no more,
and the last row covers them. The services are stopped before the books are read, so
nothing (a prune, a late retry) moves while they are.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress

from checkout.bench.load import CONNECTIONS_VARIABLE, PRODUCTS, STOCK, stock_products
from checkout.bench.soak.books import check_soak_books
from checkout.bench.soak.config import SoakConfig
from checkout.bench.soak.customers import Tally, place_until_final
from checkout.bench.soak.probes import PostgresProbe, Probe, SqliteProbe, memory
from checkout.bench.soak.report import SERVICE_ORDER, Comparison, Sample, compare
from checkout.books import Books
from checkout.chaos.databases import scratch_databases
from checkout.chaos.invariants import pending_sagas
from checkout.processes import SERVICES, System, free_port, generated_tokens
from checkout.progress_bars import LineProgress, progress_bar
from checkout.stopping import run_until_stopped

OnRow = Callable[[Sample], None]
LOG_TAIL_BYTES = 3000


class ServiceExited(RuntimeError):
    """A service died during the soak: what it was soaking is gone, so it stops."""


SETTLE_POLL_SECONDS = 0.5
PATIENCE_BEYOND_DEADLINE_SECONDS = 60.0
"""A customer waits for its order this long past the order's deadline, by which it must
have stopped going forward; then it gives up on it and says so."""


@dataclass
class SoakResult:
    config: SoakConfig
    samples: list[Sample]
    comparison: Comparison
    books: Books
    pruned: int
    """Answered orders whose saga the orders database no longer had at the end."""
    empty_bytes: int
    """The four databases, migrated, before the first order: a fixed part of every
    row's bytes per order (an empty PostgreSQL database is several MiB)."""
    answered: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.books.violations or self.unexpected)


def run_soak(config: SoakConfig, *, on_row: OnRow, workdir: Path | None = None) -> SoakResult:
    """One soak, start to books; ``on_row`` hears each row as soon as it is taken."""
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        folder = workdir or Path(scratch)
        with scratch_databases(
            backend=config.backend,
            folder=folder,
            postgres_url=config.postgres_url,
            prefix=f"soak_{uuid.uuid4().hex[:8]}",
        ) as urls:
            system = _system(config, folder, urls)
            try:
                system.check_ports()
                system.start()
                system.wait_healthy(timeout=60)
                tally = Tally()
                samples, empty_bytes = run_until_stopped(
                    _drive(config, system, urls, tally, on_row)
                )
            finally:
                system.stop()
            books, pruned = run_until_stopped(
                check_soak_books(
                    urls,
                    statuses=tally.statuses,
                    indexes=tally.indexes,
                    stock_received=dict.fromkeys(PRODUCTS, STOCK),
                )
            )
    return SoakResult(
        config=config,
        samples=samples,
        comparison=compare(
            samples,
            baseline_seconds=config.baseline.total_seconds(),
            shortened=config.shortened,
        ),
        books=books,
        pruned=pruned,
        empty_bytes=empty_bytes,
        answered=Counter(tally.statuses.values()),
        unexpected=tally.unexpected,
    )


def _system(config: SoakConfig, folder: Path, urls: Mapping[str, str]) -> System:
    return System(
        env={
            **generated_tokens(),
            "CHECKOUT_DATA_DIR": str(folder),
            CONNECTIONS_VARIABLE: str(config.connections),
            **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
            **config.environment(),
        },
        ports={service.name: free_port() for service in SERVICES},
        log_dir=folder / "logs",
    )


async def _drive(
    config: SoakConfig, system: System, urls: Mapping[str, str], tally: Tally, on_row: OnRow
) -> tuple[list[Sample], int]:
    """The rows, and the databases' size before the load."""
    pids = {name: system.processes[name].pid for name in SERVICE_ORDER}
    probe: Probe = (
        PostgresProbe(config.postgres_url, urls)
        if config.backend == "postgresql"
        else SqliteProbe(urls, pids)
    )
    # A customer holds a connection while its order settles: one each, and a few spare.
    limits = httpx.Limits(max_connections=config.concurrency + 8)
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
            await stock_products(client, system.url("inventory"), system.env["ADMIN_TOKEN"])
            empty_bytes = await probe.database_bytes()
            # Only in a terminal: elsewhere the progress lines would break the table.
            show = config.show_progress and Console(file=sys.stdout).is_terminal
            with progress_bar(show=show) as progress:
                samples = await _soak(config, client, system, tally, probe, pids, on_row, progress)
                await _settle(config, urls["orders"])
        return samples, empty_bytes
    finally:
        await probe.close()


async def _soak(
    config: SoakConfig,
    client: httpx.AsyncClient,
    system: System,
    tally: Tally,
    probe: Probe,
    pids: Mapping[str, int],
    on_row: OnRow,
    progress: Progress | LineProgress,
) -> list[Sample]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + config.duration.total_seconds()
    every = config.report_every.total_seconds()
    baseline = config.baseline.total_seconds()
    patience = config.deadline.total_seconds() + PATIENCE_BEYOND_DEADLINE_SECONDS
    counter = itertools.count()
    url = system.url("orders")
    samples: list[Sample] = []
    task = progress.add_task(f"soak {config.configuration}", total=stop_at - start)

    async def customer() -> None:
        while loop.time() < stop_at:
            index = next(counter)
            began = loop.time()
            outcome = await place_until_final(client, url, index, patience=patience)
            tally.record(index, outcome, loop.time() - began)

    async def sample(final: bool) -> Sample:
        latencies, retried = tally.take()
        now = loop.time()
        previous = samples[-1].elapsed if samples else 0.0
        # Table by table only twice: at the row the end is compared with, and at the
        # end (on SQLite it reads every page).
        baseline_row = now - start >= baseline and not any(s.tables for s in samples)
        taken = Sample(
            elapsed=now - start,
            seconds=now - start - previous,
            latencies=latencies,
            retried=retried,
            finished=tally.finished,
            rss_mib=memory(pids),
            connections=await probe.connections(),
            database_bytes=await probe.database_bytes(),
            load=os.getloadavg()[0],
            tables=await probe.table_bytes() if final or baseline_row else None,
            final=final,
        )
        samples.append(taken)
        on_row(taken)
        return taken

    async def rows() -> None:
        boundaries = (start + k * every for k in itertools.count(1))
        boundary = next(boundaries)
        while (now := loop.time()) < stop_at:
            _check_alive(system)
            progress.update(
                task, completed=now - start, description=f"soak: {tally.finished} orders"
            )
            if boundary < stop_at and now >= boundary:
                await sample(final=False)
                boundary = next(boundaries)
                continue
            await asyncio.sleep(max(0.0, min(boundary, stop_at, now + 1.0) - now))
        progress.update(task, completed=stop_at - start, description="soak: the last orders")

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(rows())
            for _ in range(config.concurrency):
                group.create_task(customer())
    except* ServiceExited as died:
        raise died.exceptions[0] from None
    await sample(final=True)
    return samples


def _check_alive(system: System) -> None:
    for name, code in system.exited().items():
        log = system.log_dir / f"{name}.log" if system.log_dir else None
        tail = log.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace") if log else ""
        raise ServiceExited(f"the {name} service exited with code {code}; its log ends:\n{tail}")


async def _settle(config: SoakConfig, orders_url: str) -> None:
    """Wait until no saga is still running or compensating (an order whose customer
    gave up on it, say), for at most the orders' deadline and a minute."""
    loop = asyncio.get_running_loop()
    until = loop.time() + config.deadline.total_seconds() + PATIENCE_BEYOND_DEADLINE_SECONDS
    while True:
        if not await pending_sagas(orders_url) or loop.time() > until:
            return
        await asyncio.sleep(SETTLE_POLL_SECONDS)
