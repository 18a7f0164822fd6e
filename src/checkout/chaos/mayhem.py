"""Orchestrators killed and paused while the orders come in."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Callable, Sequence

from checkout.chaos.config import LEASE_SECONDS
from checkout.processes import System


class Mayhem:
    def __init__(self, system: System, rng: random.Random) -> None:
        self.system, self.rng = system, rng
        self.orchestrators = [n for n in system.ports if n.startswith("orders")]
        self.down: set[str] = set()
        self.kills = 0
        self.pauses = 0

    def live(self) -> Sequence[str]:
        """The orchestrators' URLs that should answer now (the first one if none do)."""
        return [self.system.url(n) for n in self.orchestrators if n not in self.down] or [
            self.system.url(self.orchestrators[0])
        ]

    async def run(
        self,
        *,
        kills: int,
        pauses: int,
        total: int,
        placed: Callable[[], int],
        progressed: asyncio.Event,
    ) -> None:
        """Kills and pauses spread evenly over the ``total`` orders, by how many were
        ``placed``; ``progressed`` is set whenever one more is."""
        events = ["kill"] * kills + ["pause"] * pauses
        self.rng.shuffle(events)
        for i, event in enumerate(events, start=1):
            threshold = total * i / (len(events) + 1)
            while placed() < threshold:
                progressed.clear()
                await progressed.wait()
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
