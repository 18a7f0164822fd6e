"""One chaos run against a running system: faults on, orders placed amid kills, pauses
and restocks, the sagas settled, the late deliveries landed, the books read."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.progress import Progress, TaskID

from checkout.chaos.config import ChaosConfig, ChaosResult
from checkout.chaos.invariants import check_books, pending_sagas
from checkout.chaos.load import initial_stock, place, plan_orders
from checkout.chaos.mayhem import Mayhem
from checkout.chaos.restocks import Restocker, stock_received
from checkout.chaos.retry import retrying
from checkout.processes import PARTICIPANTS, System
from checkout.progress import LineProgress, progress_bar

T = TypeVar("T")
QUIET_SECONDS = 1.0
QUIET_ROUNDS = 30


class ChaosSession:
    def __init__(self, config: ChaosConfig, system: System, urls: dict[str, str]) -> None:
        self.config, self.system, self.urls = config, system, urls
        self.rng = random.Random(config.seed)
        self.mayhem = Mayhem(system, self.rng)
        self.placed = 0
        self.progressed = asyncio.Event()
        self.admin = {"Authorization": f"Bearer {system.env['ADMIN_TOKEN']}"}
        self.retries: Counter[str] = Counter()

    async def run(self) -> ChaosResult:
        config = self.config
        stock = initial_stock()
        limits = httpx.Limits(max_connections=config.concurrency + 8)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), limits=limits) as client:
            await self._prepare(client, stock)
            # Its own random source: restocking never changes the orders or the mayhem.
            restocker = Restocker(
                client,
                inventory_url=self.system.url("inventory"),
                admin=self.admin,
                rng=random.Random(config.seed + 1),
            )
            settled = asyncio.Event()
            restocking = asyncio.create_task(restocker.run(settled))
            try:
                with progress_bar(show=config.show_progress) as progress:
                    order_ids = await self._place_orders(client, progress)
                    settling = progress.add_task("settling sagas", total=config.sagas)
                    await self._settle(progress, settling)
                    settled.set()
                    await restocking
                    await self._let_late_deliveries_land(client, progress)
            finally:
                restocking.cancel()  # only still running if something failed
            faults, late = await self._faults_injected(client)
        books = await self._patiently(
            "reading the books",
            lambda: check_books(
                self.urls, stock_received=stock_received(stock, restocker), order_ids=order_ids
            ),
        )
        return ChaosResult(
            sagas=len(order_ids),
            kills=self.mayhem.kills,
            pauses=self.mayhem.pauses,
            faults=faults,
            late_deliveries=late,
            restocks=restocker.restocks,
            books=books,
            log_dir=self.system.log_dir,
            notes=[
                f"{what}: the database was unreachable; retried {n}×"
                for what, n in self.retries.items()
            ],
        )

    async def _prepare(self, client: httpx.AsyncClient, stock: dict[str, int]) -> None:
        faults = {
            "error_rate": self.config.error_rate,
            "timeout_rate": self.config.timeout_rate,
            "fail_after_commit_rate": self.config.fail_after_commit_rate,
            "hang_seconds": self.config.hang_seconds,
        }
        for participant in PARTICIPANTS:
            response = await client.put(
                f"{self.system.url(participant.name)}/admin/faults", json=faults, headers=self.admin
            )
            response.raise_for_status()
        for product, units in stock.items():
            response = await client.put(
                f"{self.system.url('inventory')}/products/{product}",
                json={"available": units},
                headers=self.admin,
            )
            response.raise_for_status()

    async def _place_orders(
        self, client: httpx.AsyncClient, progress: Progress | LineProgress
    ) -> set[str]:
        config = self.config
        orders = iter(plan_orders(config.sagas, self.rng))
        order_ids: set[str] = set()
        placing = progress.add_task("placing orders", total=config.sagas)

        async def customer() -> None:
            # One customer per slot, taking the next order from the shared iterator: as
            # many tasks as slots, not as orders, so a long run stops at once on Ctrl-C.
            for order in orders:
                order_ids.add(await place(client, order, self.mayhem.live, rng=self.rng))
                self.placed += 1
                self.progressed.set()
                progress.advance(placing)

        mayhem = asyncio.create_task(
            self.mayhem.run(
                kills=config.kills,
                pauses=config.pauses,
                total=config.sagas,
                placed=lambda: self.placed,
                progressed=self.progressed,
            )
        )
        await asyncio.gather(*(customer() for _ in range(config.concurrency)))
        await mayhem
        return order_ids

    async def _settle(self, progress: Progress | LineProgress, task: TaskID) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.settle_timeout
        while True:
            pending = await self._patiently(
                "waiting for the sagas to settle",
                lambda: pending_sagas(self.urls["orders"]),
                retried=lambda: progress.update(
                    task, description="settling sagas (database unreachable, retrying)"
                ),
            )
            progress.update(
                task, completed=self.config.sagas - pending, description="settling sagas"
            )
            if pending == 0 or loop.time() > deadline:
                return
            await asyncio.sleep(0.5)

    async def _let_late_deliveries_land(
        self, client: httpx.AsyncClient, progress: Progress | LineProgress
    ) -> None:
        """Wait until no request is still asleep in a participant.

        The sagas settle with late deliveries still hanging; read now, the books would
        miss what those do when they wake, which is what they are there to provoke.
        Each was received before its saga settled and wakes ``hang_seconds`` later; after
        that, the participants' count of answers must stop moving.
        """
        if self.config.timeout_rate == 0:
            return
        hang = self.config.hang_seconds
        task = progress.add_task("late deliveries landing", total=hang)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while (waited := loop.time() - started) < hang:
            progress.update(task, completed=int(waited))
            await asyncio.sleep(min(0.25, hang - waited))
        progress.update(task, completed=hang)
        answered = await self._answers_given(client)
        for _ in range(QUIET_ROUNDS):
            await asyncio.sleep(QUIET_SECONDS)
            answered, before = await self._answers_given(client), answered
            if answered == before:
                return

    async def _answers_given(self, client: httpx.AsyncClient) -> float:
        """POSTs the participants finished answering, all routes together."""
        total = 0.0
        for participant in PARTICIPANTS:
            response = await client.get(f"{self.system.url(participant.name)}/metrics")
            for family in text_string_to_metric_families(response.text):
                for sample in family.samples:
                    if sample.name == "http_requests_total" and sample.labels["method"] == "POST":
                        total += sample.value
        return total

    async def _faults_injected(self, client: httpx.AsyncClient) -> tuple[int, int]:
        """Faults injected (latency aside), and how many of them were late deliveries."""
        total = late = 0
        for participant in PARTICIPANTS:
            response = await client.get(
                f"{self.system.url(participant.name)}/admin/faults", headers=self.admin
            )
            injected = response.json().get("injected", {})
            total += sum(v for k, v in injected.items() if k != "latency")
            late += injected.get("timeout", 0)
        return total, late

    async def _patiently(
        self,
        what: str,
        read: Callable[[], Awaitable[T]],
        *,
        retried: Callable[[], None] = lambda: None,
    ) -> T:
        """``read()``, retried while the database is unreachable; counted for the notes."""

        def count(_message: str) -> None:
            self.retries[what] += 1
            retried()

        return await retrying(read, what=what, on_retry=count)
