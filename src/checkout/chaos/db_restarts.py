"""The database server stopped under the running system, kept down, started again.

Stops alternate between PostgreSQL's two abrupt modes: ``fast`` (connections are
told the server is shutting down, transactions rolled back, a checkpoint written)
and ``immediate`` (every process quits at once, as in a crash; the next start
replays the WAL). Each keeps the server down a few seconds, long enough that clients
queue and retry and the services must say they cannot serve.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable

from checkout.chaos.cluster import Cluster, ClusterUnavailable, is_running, run_tool

STOP_MODES = ("fast", "immediate")
Report = Callable[[str], None]


class DatabaseRestarts:
    def __init__(
        self, cluster: Cluster, rng: random.Random, *, down_seconds: tuple[float, float]
    ) -> None:
        self.cluster, self.rng, self.down_seconds = cluster, rng, down_seconds
        self.modes: Counter[str] = Counter()
        self.down = False
        """Between a stop that finished and the start that ends the outage."""
        self._stopping = False

    @property
    def done(self) -> int:
        return self.modes.total()

    async def restart(self) -> None:
        mode = STOP_MODES[self.done % len(STOP_MODES)]
        self._stopping = True
        await asyncio.to_thread(run_tool, self.cluster.ctl("stop", "-m", mode))
        self.down = True
        await asyncio.sleep(self.rng.uniform(*self.down_seconds))
        await asyncio.to_thread(run_tool, self.cluster.ctl("start"))
        self.down = self._stopping = False
        self.modes[mode] += 1

    def ensure_running(self, report: Report) -> None:
        """Start the server again if the run ended while it was down: a server the run
        was lent goes back running, and the scratch databases on it can be dropped."""
        if not self._stopping:
            return
        try:
            if not is_running(self.cluster):
                run_tool(self.cluster.ctl("start"))
            self.down = self._stopping = False
        except ClusterUnavailable as error:
            report(f"{error}\nThe run stopped {self.cluster} and could not start it again.")

    def summary(self) -> str:
        return ", ".join(f"{n} {mode}" for mode, n in sorted(self.modes.items()))
