"""One chaos run against a running system: faults on, orders placed amid kills and
pauses, the sagas settled, the books read."""

from __future__ import annotations

import asyncio
import random

import httpx
from rich.progress import Progress, TaskID

from checkout.chaos.config import CALL_TIMEOUT_SECONDS, ChaosConfig, ChaosResult
from checkout.chaos.invariants import check_books, pending_sagas
from checkout.chaos.load import initial_stock, place, plan_orders
from checkout.chaos.mayhem import Mayhem
from checkout.processes import PARTICIPANTS, System
from checkout.progress import LineProgress, progress_bar


class ChaosSession:
    def __init__(self, config: ChaosConfig, system: System, urls: dict[str, str]) -> None:
        self.config, self.system, self.urls = config, system, urls
        self.rng = random.Random(config.seed)
        self.mayhem = Mayhem(system, self.rng)
        self.placed = 0
        self.progressed = asyncio.Event()
        self.admin = {"Authorization": f"Bearer {system.env['ADMIN_TOKEN']}"}

    async def run(self) -> ChaosResult:
        config = self.config
        stock = initial_stock(config.sagas)
        limits = httpx.Limits(max_connections=config.concurrency + 8)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), limits=limits) as client:
            await self._prepare(client, stock)
            with progress_bar(show=config.show_progress) as progress:
                order_ids = await self._place_orders(client, progress)
                settling = progress.add_task("settling sagas", total=config.sagas)
                await self._settle(progress, settling)
            faults = await self._faults_injected(client)
        books = await check_books(self.urls, stock_received=stock, order_ids=order_ids)
        return ChaosResult(
            sagas=len(order_ids),
            kills=self.mayhem.kills,
            pauses=self.mayhem.pauses,
            faults=faults,
            books=books,
            log_dir=self.system.log_dir,
        )

    async def _prepare(self, client: httpx.AsyncClient, stock: dict[str, int]) -> None:
        faults = {
            "error_rate": self.config.error_rate,
            "timeout_rate": self.config.timeout_rate,
            "fail_after_commit_rate": self.config.fail_after_commit_rate,
            "hang_seconds": CALL_TIMEOUT_SECONDS * 1.5,
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
            pending = await pending_sagas(self.urls["orders"])
            progress.update(task, completed=self.config.sagas - pending)
            if pending == 0 or loop.time() > deadline:
                return
            await asyncio.sleep(0.5)

    async def _faults_injected(self, client: httpx.AsyncClient) -> int:
        total = 0
        for participant in PARTICIPANTS:
            response = await client.get(
                f"{self.system.url(participant.name)}/admin/faults", headers=self.admin
            )
            injected = response.json().get("injected", {})
            total += sum(v for k, v in injected.items() if k != "latency")
        return total
