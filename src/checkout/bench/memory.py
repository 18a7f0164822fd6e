"""The order service's memory as sagas pile up: its resident set size every K sagas.

The real system runs (four uvicorn processes, every database on SQLite); a closed loop
of C clients places orders through ``POST /orders`` and holds each until it settles.
After every K sagas the order service's RSS is read from ``/proc/<pid>/status``
(``VmRSS``), so this runs on Linux. With ``waiting``, every order pays by ``card_3ds``
and its holder never answers (the orders wait a day): the sagas pile up waiting.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from checkout.bench.load import closed_loop, stock_products, through_order_service
from checkout.migrations import upgrade_all
from checkout.processes import SERVICES, System, free_port, generated_tokens
from checkout.progress_bars import progress_bar
from checkout.stopping import run_until_stopped

WAIT_A_DAY = {
    "ORDERS_CONFIRMATION_TIMEOUT_SECONDS": str(24 * 3600),
    "ORDERS_DEADLINE_SECONDS": str(2 * 24 * 3600),
}
"""No order's wait ends during the run: every saga placed stays waiting."""


@dataclass(frozen=True)
class MemoryPoint:
    sagas: int
    rss_mib: float


def measure_memory(
    *,
    sagas: int,
    every: int,
    concurrency: int,
    on_point: Callable[[MemoryPoint], None] = lambda _point: None,
    show_progress: bool = True,
    waiting: bool = False,
) -> list[MemoryPoint]:
    """Drive ``sagas`` sagas; after every ``every`` read the order service's RSS and
    report it to ``on_point`` at once (a long run shows its figures as it goes)."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        folder = Path(scratch)
        urls = {s.name: f"sqlite+aiosqlite:///{folder / s.name}.db" for s in SERVICES}
        upgrade_all(urls)
        system = System(
            env={
                **generated_tokens(),
                "CHECKOUT_DATA_DIR": str(folder),
                **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
                **(WAIT_A_DAY if waiting else {}),
            },
            ports={s.name: free_port() for s in SERVICES},
            log_dir=folder / "logs",
        )
        try:
            system.check_ports()
            system.start()
            system.wait_healthy(timeout=60)
            payment_method = "card_3ds" if waiting else "credit_card"
            return run_until_stopped(
                _drive(system, sagas, every, concurrency, on_point, show_progress, payment_method)
            )
        finally:
            system.stop()


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def _drive(
    system: System,
    sagas: int,
    every: int,
    concurrency: int,
    on_point: Callable[[MemoryPoint], None],
    show_progress: bool,
    payment_method: str,
) -> list[MemoryPoint]:
    limits = httpx.Limits(max_connections=concurrency + 4)
    orders = system.processes["orders"].pid
    points: list[MemoryPoint] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
        await stock_products(client, system.url("inventory"), system.env["ADMIN_TOKEN"])
        place = through_order_service(client, system.url("orders"), payment_method=payment_method)
        with progress_bar(show=show_progress) as progress:
            task = progress.add_task("sagas", total=sagas)
            done = 0
            while done < sagas:
                chunk = min(every, sagas - done)
                await closed_loop(chunk, concurrency, place, on_done=lambda: progress.advance(task))
                done += chunk
                points.append(MemoryPoint(done, resident_mib(orders)))
                on_point(points[-1])
    return points
