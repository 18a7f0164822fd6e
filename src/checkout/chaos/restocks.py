"""The scarce product, restocked whenever it runs out, while the orders keep coming.

Running out and being restocked is half of what issue 25 needed: a reservation refused
for want of stock, then stock again by the time a late copy of the same request lands.
So the scarce product starts small and, each time it can no longer fill every order,
gets a small batch a moment later: orders are refused in between, and the windows in
which a late delivery can find fresh stock recur all through the run.

Every batch goes through ``POST /products/{id}/restock`` (a relative update) under an
idempotency key, retried until answered, so the units received are known exactly and
the books can be held to them.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping

import httpx

from checkout.chaos.load import MOST_UNITS_PER_LINE, SCARCE

POLL_SECONDS = 0.25
BATCH_UNITS = (3, 8)
OUT_OF_STOCK_SECONDS = (0.3, 1.5)
"""How long the product stays short before its batch arrives: orders are refused then."""
GIVE_UP_SECONDS = 120.0

Sleep = Callable[[float], Awaitable[None]]


class Restocker:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        inventory_url: str,
        admin: Mapping[str, str],
        rng: random.Random,
        product: str = SCARCE,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client, self.inventory_url, self.admin = client, inventory_url, admin
        self.rng, self.product, self.sleep = rng, product, sleep
        self.restocks = 0
        self.units = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Restock whenever the product runs short, until ``stop`` is set.

        Never cancelled mid-request: a restock whose answer was lost would leave the
        books unsure of what was received.
        """
        while not await _stopped_within(stop, POLL_SECONDS):
            if await self._level() >= MOST_UNITS_PER_LINE:
                continue
            if await _stopped_within(stop, self.rng.uniform(*OUT_OF_STOCK_SECONDS)):
                return
            await self.restock(self.rng.randint(*BATCH_UNITS))

    async def restock(self, units: int) -> None:
        url = f"{self.inventory_url}/products/{self.product}/restock"
        key = f"chaos-restock-{uuid.uuid4()}"
        headers = {**self.admin, "Idempotency-Key": key}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GIVE_UP_SECONDS
        while True:
            try:
                response = await self.client.post(url, json={"quantity": units}, headers=headers)
                if response.status_code < 500:
                    response.raise_for_status()
                    self.restocks += 1
                    self.units += units
                    return
            except httpx.TransportError:
                pass  # answered or not, the same key adds the units once
            if loop.time() > deadline:
                raise TimeoutError(f"the inventory service never answered restock {key}")
            await self.sleep(0.2)

    async def _level(self) -> int:
        try:
            response = await self.client.get(f"{self.inventory_url}/products/{self.product}")
            available: int = response.json()["available"]
            return available
        except (httpx.TransportError, ValueError, KeyError):
            return MOST_UNITS_PER_LINE  # unknown: look again at the next poll


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


def stock_received(initial: Mapping[str, int], restocker: Restocker) -> dict[str, int]:
    """Each product's initial stock plus what was restocked: what the books must show."""
    received = dict(initial)
    received[restocker.product] = received.get(restocker.product, 0) + restocker.units
    return received
