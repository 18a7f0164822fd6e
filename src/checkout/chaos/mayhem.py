"""The mayhem, spread over the orders as they come in: orchestrators killed and paused
here, and whatever else the run asks for (database restarts, participant kills).

Events happen one at a time, in a shuffled order, each when its share of the orders
has been placed. Some take many seconds (a participant down, a database restarting)
while a few hundred orders go in quickly, so customers are held back at each event's
threshold until it has begun: every event happens while orders still flow, never
after the last one.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import signal
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence

from checkout.chaos.config import LEASE_SECONDS
from checkout.processes import System

Action = Callable[[], Awaitable[None]]
KILL, PAUSE = "kill", "pause"
HEALTHY_WITHIN_SECONDS = 120.0
"""A restart is a new Python process importing everything: slow on a busy machine."""


class Mayhem:
    def __init__(
        self, system: System, rng: random.Random, *, more: Mapping[str, Action] | None = None
    ) -> None:
        self.system, self.rng = system, rng
        self.orchestrators = [n for n in system.ports if n.startswith("orders")]
        self.down: set[str] = set()
        self.actions: dict[str, Action] = {KILL: self._kill, PAUSE: self._pause, **(more or {})}
        self.done: Counter[str] = Counter()
        self._events: list[str] = []
        self._thresholds: list[float] = []
        self._begun = 0
        self._beginning = asyncio.Condition()

    @property
    def kills(self) -> int:
        return self.done[KILL]

    @property
    def pauses(self) -> int:
        return self.done[PAUSE]

    def live(self) -> Sequence[str]:
        """The orchestrators' URLs that should answer now (the first one if none do)."""
        return [self.system.url(n) for n in self.orchestrators if n not in self.down] or [
            self.system.url(self.orchestrators[0])
        ]

    def plan(self, events: Mapping[str, int], *, total: int) -> None:
        """``events[kind]`` events of each kind, spread evenly over ``total`` orders."""
        self._events = [kind for kind, count in events.items() for _ in range(count)]
        self.rng.shuffle(self._events)
        spacing = total / (len(self._events) + 1)
        self._thresholds = [spacing * i for i in range(1, len(self._events) + 1)]

    async def admit(self, index: int) -> None:
        """Wait until order ``index`` (from 0) may go: until every event due at or
        before it has begun."""
        due = bisect.bisect_right(self._thresholds, index)
        async with self._beginning:
            await self._beginning.wait_for(lambda: self._begun >= due)

    async def run(self, *, placed: Callable[[], int], progressed: asyncio.Event) -> None:
        """Each planned event once ``placed()`` orders reach its threshold;
        ``progressed`` is set whenever one more is placed."""
        for threshold, kind in zip(self._thresholds, self._events, strict=True):
            while placed() < threshold:
                progressed.clear()
                await progressed.wait()
            async with self._beginning:
                self._begun += 1
                self._beginning.notify_all()
            await self.actions[kind]()
            self.done[kind] += 1

    async def _kill(self) -> None:
        victim = self.rng.choice([n for n in self.orchestrators if n not in self.down])
        self.down.add(victim)
        self.system.send(victim, signal.SIGKILL)
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        self.system.start(victim)
        await asyncio.to_thread(
            self.system.wait_healthy, timeout=HEALTHY_WITHIN_SECONDS, names=(victim,)
        )
        self.down.discard(victim)

    async def _pause(self) -> None:
        victim = self.rng.choice([n for n in self.orchestrators if n not in self.down])
        self.down.add(victim)
        self.system.send(victim, signal.SIGSTOP)
        await asyncio.sleep(LEASE_SECONDS + 2)
        self.system.send(victim, signal.SIGCONT)
        self.down.discard(victim)
