"""One chaos run against a running system: faults on, orders placed amid kills, pauses,
database restarts and restocks, the sagas settled, the late deliveries landed, the
books read, and what the clients saw counted."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.progress import Progress, TaskID

from checkout.chaos.clients import ClientCounts
from checkout.chaos.config import ChaosConfig, ChaosResult
from checkout.chaos.confirmations import (
    PLANS,
    Holder,
    answer,
    holder_violations,
    holders_summary,
)
from checkout.chaos.db_restarts import DatabaseRestarts
from checkout.chaos.faults import Faults
from checkout.chaos.invariants import check_books, pending_sagas
from checkout.chaos.load import initial_stock, place, plan_orders
from checkout.chaos.logs import traceback_notes
from checkout.chaos.mayhem import KILL, PAUSE, Mayhem
from checkout.chaos.participant_kills import ParticipantKills
from checkout.chaos.restocks import Restocker, stock_received
from checkout.chaos.retry import retrying
from checkout.processes import PARTICIPANTS, System
from checkout.progress_bars import LineProgress, progress_bar

T = TypeVar("T")
QUIET_SECONDS = 1.0
QUIET_ROUNDS = 30
DATABASE_RESTART, PARTICIPANT_KILL = "database restart", "participant kill"


class ChaosSession:
    def __init__(
        self,
        config: ChaosConfig,
        system: System,
        urls: dict[str, str],
        *,
        restarts: DatabaseRestarts | None = None,
    ) -> None:
        self.config, self.system, self.urls, self.restarts = config, system, urls, restarts
        self.rng = random.Random(config.seed)
        self.placed = 0
        self.progressed = asyncio.Event()
        self.admin = {"Authorization": f"Bearer {system.env['ADMIN_TOKEN']}"}
        self.retries: Counter[str] = Counter()
        self.clients = ClientCounts(names={system.url(name): name for name in system.ports})
        self.holders: list[Holder] = []

    async def run(self) -> ChaosResult:
        config = self.config
        stock = initial_stock()
        limits = httpx.Limits(max_connections=config.concurrency + 8)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), limits=limits) as client:
            faults = Faults(client, self.system, admin=self.admin, settings=self._fault_settings())
            await faults.configure_all()
            await self._stock(client, stock)
            kills = ParticipantKills(
                self.system, self.rng, faults, down_seconds=config.participant_down_seconds
            )
            mayhem = self._mayhem(kills)
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
                    order_ids = await self._place_orders(client, mayhem, progress)
                    settling = progress.add_task("settling sagas", total=config.sagas)
                    await self._settle(progress, settling)
                    settled.set()
                    await restocking
                    await self._let_late_deliveries_land(client, progress)
            finally:
                restocking.cancel()  # only still running if something failed
            injected = await faults.injected()
        books = await self._patiently(
            "reading the books",
            lambda: check_books(
                self.urls, stock_received=stock_received(stock, restocker), order_ids=order_ids
            ),
        )
        books.violations.extend(await self._holders_told_the_truth())
        return ChaosResult(
            sagas=len(order_ids),
            kills=mayhem.kills,
            pauses=mayhem.pauses,
            db_restarts=self.restarts.done if self.restarts else 0,
            participant_kills=kills.done,
            faults=sum(n for kind, n in injected.items() if kind != "latency"),
            late_deliveries=injected["timeout"],
            restocks=restocker.restocks,
            books=books,
            clients=self.clients,
            log_dir=self.system.log_dir,
            notes=self._notes(kills, faults),
        )

    def _mayhem(self, kills: ParticipantKills) -> Mayhem:
        more = {PARTICIPANT_KILL: kills.kill}
        if self.restarts is not None:
            more[DATABASE_RESTART] = self.restarts.restart
        return Mayhem(self.system, self.rng, more=more)

    def _notes(self, kills: ParticipantKills, faults: Faults) -> list[str]:
        notes = [
            f"{what}: the database was unreachable; retried {n}×"
            for what, n in self.retries.items()
        ]
        if self.restarts is not None and self.restarts.done:
            notes.append(f"database restarts: {self.restarts.summary()} ({self.restarts.cluster})")
        if kills.done:
            notes.append(f"participants killed: {kills.summary()}")
        if self.holders:
            notes.append(f"card holders: {holders_summary(self.holders)}")
        if self.clients.failures:
            kinds = ", ".join(f"{k} ×{n}" for k, n in self.clients.failures.most_common())
            notes.append(f"the customers' connection errors and timeouts: {kinds}")
        if faults.lost:
            notes.append(f"faults injected by {faults.lost} killed participants went uncounted")
        if self.system.log_dir is not None:
            notes += traceback_notes(self.system.log_dir)
        return notes

    def _fault_settings(self) -> dict[str, float]:
        return {
            "error_rate": self.config.error_rate,
            "timeout_rate": self.config.timeout_rate,
            "fail_after_commit_rate": self.config.fail_after_commit_rate,
            "hang_seconds": self.config.hang_seconds,
        }

    async def _stock(self, client: httpx.AsyncClient, stock: dict[str, int]) -> None:
        for product, units in stock.items():
            response = await client.put(
                f"{self.system.url('inventory')}/products/{product}",
                json={"available": units},
                headers=self.admin,
            )
            response.raise_for_status()

    async def _place_orders(
        self, client: httpx.AsyncClient, mayhem: Mayhem, progress: Progress | LineProgress
    ) -> set[str]:
        config = self.config
        orders = enumerate(plan_orders(config.sagas, self.rng))
        mayhem.plan(
            {
                KILL: config.kills,
                PAUSE: config.pauses,
                DATABASE_RESTART: config.db_restarts,
                PARTICIPANT_KILL: config.participant_kills,
            },
            total=config.sagas,
        )
        order_ids: set[str] = set()
        placing = progress.add_task("placing orders", total=config.sagas)

        async def customer() -> None:
            # One customer per slot, taking the next order from the shared iterator: as
            # many tasks as slots, not as orders, so a long run stops at once on Ctrl-C.
            for index, order in orders:
                await mayhem.admit(index)
                placed = await place(client, order, mayhem.live, rng=self.rng, counts=self.clients)
                order_ids.add(placed["id"])
                if order.kind in PLANS:  # its holder answers on the side
                    group.create_task(self._hold(client, placed, order.kind, mayhem))
                self.placed += 1
                self.progressed.set()
                progress.advance(placing)

        try:
            # A failure anywhere stops the rest: customers held back for an event that
            # will never begin would otherwise wait forever.
            async with asyncio.TaskGroup() as group:
                group.create_task(
                    mayhem.run(placed=lambda: self.placed, progressed=self.progressed)
                )
                for _ in range(config.concurrency):
                    group.create_task(customer())
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from failures
        return order_ids

    async def _hold(
        self, client: httpx.AsyncClient, placed: dict[str, Any], plan: str, mayhem: Mayhem
    ) -> None:
        holder = await answer(client, placed, plan, mayhem.live, rng=self.rng, counts=self.clients)
        self.holders.append(holder)

    async def _holders_told_the_truth(self) -> list[str]:
        """The card holders' answers against how their orders ended."""
        finals: dict[str, Any] = {}
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            for holder in self.holders:
                url = f"{self.system.url('orders')}/orders/{holder.order_id}"
                response = await client.get(url)
                response.raise_for_status()
                finals[holder.order_id] = response.json()
        return holder_violations(self.holders, finals)

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
