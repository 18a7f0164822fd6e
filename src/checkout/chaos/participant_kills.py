"""Participants (payment, inventory, shipping) killed with SIGKILL and restarted a
while later, as a crashed pod comes back: the orchestrators' calls to one are refused
or cut meanwhile, and its answers in flight are lost."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter

from checkout.chaos.faults import Faults
from checkout.chaos.mayhem import HEALTHY_WITHIN_SECONDS
from checkout.processes import PARTICIPANTS, System


class ParticipantKills:
    def __init__(
        self,
        system: System,
        rng: random.Random,
        faults: Faults,
        *,
        down_seconds: tuple[float, float],
    ) -> None:
        self.system, self.rng, self.faults = system, rng, faults
        self.down_seconds = down_seconds
        self.victims: Counter[str] = Counter()

    @property
    def done(self) -> int:
        return self.victims.total()

    async def kill(self) -> None:
        victim = self.rng.choice([participant.name for participant in PARTICIPANTS])
        await self.faults.carry(victim)
        self.system.send(victim, signal.SIGKILL)
        await asyncio.sleep(self.rng.uniform(*self.down_seconds))
        self.system.start(victim)
        await asyncio.to_thread(
            self.system.wait_healthy, timeout=HEALTHY_WITHIN_SECONDS, names=(victim,)
        )
        await self.faults.configure(victim)
        self.victims[victim] += 1

    def summary(self) -> str:
        return ", ".join(f"{name} ×{n}" for name, n in sorted(self.victims.items()))
