"""The chaos run: start the system with faults on, place orders while killing and
pausing orchestrators, wait until nothing is pending, then check the books."""

from __future__ import annotations

import asyncio
import random
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.progress import Progress, TaskID

from checkout.books import Books
from checkout.chaos.databases import DEFAULT_POSTGRES_URL, scratch_databases
from checkout.chaos.invariants import check_books, pending_sagas
from checkout.chaos.load import initial_stock, place, plan_orders
from checkout.processes import PARTICIPANTS, System, free_port, generated_tokens
from checkout.progress import LineProgress, progress_bar

LEASE_SECONDS = 3.0
CALL_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True, kw_only=True)
class ChaosConfig:
    sagas: int = 300
    concurrency: int = 16
    kills: int = 3
    pauses: int = 0
    backend: str = "sqlite"
    postgres_url: str = DEFAULT_POSTGRES_URL
    orchestrators: int = 1
    error_rate: float = 0.03
    timeout_rate: float = 0.01
    fail_after_commit_rate: float = 0.03
    idempotency_disabled: bool = False
    seed: int = 1
    settle_timeout: float = 300.0
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.pauses and self.orchestrators < 2:
            raise ValueError(
                "pausing an orchestrator needs another one to take over: "
                "use --orchestrators 2 or more"
            )


@dataclass
class ChaosResult:
    sagas: int
    kills: int
    pauses: int
    faults: int
    books: Books
    log_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        return self.books.violations

    def summary(self) -> str:
        return (
            f"chaos: {self.sagas} sagas, {self.kills} kills, {self.pauses} pauses, "
            f"{self.faults} faults, {len(self.violations)} violations"
        )


def run_chaos(config: ChaosConfig, *, workdir: Path | None = None) -> ChaosResult:
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with scratch_databases(
            backend=config.backend, folder=folder, postgres_url=config.postgres_url
        ) as urls:
            system = _system(config, urls, folder)
            try:
                system.start()
                system.wait_healthy(timeout=60)
                return asyncio.run(_Chaos(config, system, urls).run())
            finally:
                system.stop()


def _system(config: ChaosConfig, urls: dict[str, str], folder: Path) -> System:
    orchestrators = ["orders"] + [f"orders-{i}" for i in range(2, config.orchestrators + 1)]
    env = {
        **generated_tokens(),
        **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        "FAULTS_ENABLED": "1",
        "ORDERS_CALL_TIMEOUT_SECONDS": str(CALL_TIMEOUT_SECONDS),
        "ORDERS_LEASE_SECONDS": str(LEASE_SECONDS),
        "ORDERS_RECOVERY_POLL_SECONDS": "0.3",
        "CHECKOUT_DATA_DIR": str(folder),
    }
    if config.idempotency_disabled:
        env["IDEMPOTENCY_DISABLED"] = "1"
    ports = {name: free_port() for name in [*orchestrators, *(s.name for s in PARTICIPANTS)]}
    return System(env=env, ports=ports, log_dir=folder / "logs")


class _Chaos:
    def __init__(self, config: ChaosConfig, system: System, urls: dict[str, str]) -> None:
        self.config, self.system, self.urls = config, system, urls
        self.rng = random.Random(config.seed)
        self.orchestrators = [n for n in system.ports if n.startswith("orders")]
        self.down: set[str] = set()
        self.placed = 0
        self.progressed = asyncio.Event()
        self.kills = 0
        self.pauses = 0
        self.admin = {"Authorization": f"Bearer {system.env['ADMIN_TOKEN']}"}

    def live(self) -> Sequence[str]:
        return [self.system.url(n) for n in self.orchestrators if n not in self.down] or [
            self.system.url(self.orchestrators[0])
        ]

    async def run(self) -> ChaosResult:
        config = self.config
        stock = initial_stock(config.sagas)
        limits = httpx.Limits(max_connections=config.concurrency + 8)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), limits=limits) as client:
            await self._prepare(client, stock)
            orders = plan_orders(config.sagas, self.rng)
            slots = asyncio.Semaphore(config.concurrency)
            order_ids: set[str] = set()
            with progress_bar(show=config.show_progress) as progress:
                placing = progress.add_task("placing orders", total=config.sagas)

                async def one(index: int) -> None:
                    async with slots:
                        order_ids.add(await place(client, orders[index], self.live, rng=self.rng))
                    self.placed += 1
                    self.progressed.set()
                    progress.advance(placing)

                mayhem = asyncio.create_task(self._mayhem())
                await asyncio.gather(*(one(i) for i in range(config.sagas)))
                await mayhem
                settling = progress.add_task("settling sagas", total=config.sagas)
                await self._settle(progress, settling)
            faults = await self._faults_injected(client)
        books = await check_books(self.urls, stock_received=stock, order_ids=order_ids)
        return ChaosResult(
            sagas=len(order_ids),
            kills=self.kills,
            pauses=self.pauses,
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

    async def _mayhem(self) -> None:
        """Kills and pauses spread over the load, by how many orders were placed."""
        events = ["kill"] * self.config.kills + ["pause"] * self.config.pauses
        self.rng.shuffle(events)
        for i, event in enumerate(events, start=1):
            threshold = self.config.sagas * i / (len(events) + 1)
            while self.placed < threshold:
                self.progressed.clear()
                await self.progressed.wait()
            await (self._kill() if event == "kill" else self._pause())

    async def _kill(self) -> None:
        victim = self.rng.choice([n for n in self.orchestrators if n not in self.down])
        self.down.add(victim)
        self.system.send(victim, signal.SIGKILL)
        self.kills += 1
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        self.system.start(victim)
        await asyncio.to_thread(self.system.wait_healthy, timeout=60, names=(victim,))
        self.down.discard(victim)

    async def _pause(self) -> None:
        victim = self.rng.choice([n for n in self.orchestrators if n not in self.down])
        self.down.add(victim)
        self.system.send(victim, signal.SIGSTOP)
        self.pauses += 1
        await asyncio.sleep(LEASE_SECONDS + 2)
        self.system.send(victim, signal.SIGCONT)
        self.down.discard(victim)

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
