"""The faults the participants inject: set on each at the start and again after each
restart, and counted over all of a participant's lives.

A participant keeps its fault settings and counts in memory, so a killed one comes
back with neither: it is configured again, and what it had injected is read just
before the kill and carried over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import httpx

from checkout.processes import PARTICIPANTS, System


class Faults:
    def __init__(
        self,
        client: httpx.AsyncClient,
        system: System,
        *,
        admin: Mapping[str, str],
        settings: Mapping[str, float],
    ) -> None:
        self.client, self.system, self.admin, self.settings = client, system, admin, settings
        self.carried: Counter[str] = Counter()
        self.lost = 0
        """Lives whose counts could not be read before they ended."""

    async def configure(self, participant: str) -> None:
        response = await self.client.put(
            f"{self.system.url(participant)}/admin/faults",
            json=dict(self.settings),
            headers=dict(self.admin),
        )
        response.raise_for_status()

    async def configure_all(self) -> None:
        for participant in PARTICIPANTS:
            await self.configure(participant.name)

    async def carry(self, participant: str) -> None:
        """Keep what ``participant`` injected so far: it is about to be killed."""
        try:
            self.carried.update(await self._injected(participant))
        except httpx.HTTPError:
            self.lost += 1

    async def injected(self) -> Counter[str]:
        """Faults injected by kind, every participant and every life of it together."""
        total = Counter(self.carried)
        for participant in PARTICIPANTS:
            total.update(await self._injected(participant.name))
        return total

    async def _injected(self, participant: str) -> dict[str, int]:
        response = await self.client.get(
            f"{self.system.url(participant)}/admin/faults", headers=dict(self.admin)
        )
        response.raise_for_status()
        injected: dict[str, int] = response.json().get("injected", {})
        return injected
