"""The soak's customers: each places an order, holds on until it is final, then places
the next (a closed loop), and keeps what it was answered for the books.

Every order carries an ``Idempotency-Key``, so a customer told to come back (503, or
409 while the same order is being created) or left without an answer sends the same
order again, and every order the system took is one the books know. That costs the
order service one read per order that the benchmark's orders, sent once, do not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from checkout.bench.load import order_body

FINAL = frozenset({"completed", "cancelled", "failed"})
WAIT_SECONDS = 30
"""What ``Prefer: wait`` asks for: the order service's longest wait by default."""
RETRY_PAUSE_SECONDS = 0.2
COME_BACK = frozenset({409, 503})
"""The order is still being created (409), or the service is busy (503): send again."""
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    order_id: str | None
    status: str
    """``completed``, ``cancelled`` or ``failed``; else what it was when the customer
    gave up on it, or ``unanswered`` if it was never taken."""
    retried: int = 0
    unexpected: tuple[str, ...] = ()
    """Answers that mean something is wrong: a 5xx other than 503, no answer at all,
    a refusal."""


class _Attempts:
    def __init__(self, patience: float, clock: Callable[[], float], sleep: Sleep) -> None:
        self.retried = 0
        self.unexpected: list[str] = []
        self._until = clock() + patience
        self._clock, self._sleep = clock, sleep

    async def send(self, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | None:
        """The first answer that is not "come back", or None once patience runs out."""
        while self._clock() < self._until:
            try:
                response = await request()
            except httpx.TransportError as error:
                self.unexpected.append(f"no answer ({type(error).__name__}: {error})")
            else:
                if response.status_code < 500 and response.status_code not in COME_BACK:
                    return response
                if response.status_code not in COME_BACK:  # a 500: a bug, retried all the same
                    self.unexpected.append(f"{response.status_code}: {response.text[:200]}")
            self.retried += 1
            await self._sleep(RETRY_PAUSE_SECONDS)
        return None


async def place_until_final(
    client: httpx.AsyncClient,
    url: str,
    index: int,
    *,
    patience: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> Outcome:
    """Place order ``index`` (the benchmark's body) and wait until it is final, for at
    most ``patience`` seconds in all."""
    attempts = _Attempts(patience, clock, sleep)
    prefer = {"Prefer": f"wait={WAIT_SECONDS}"}
    headers = {**prefer, "Idempotency-Key": f"soak-{index}"}

    def post() -> Awaitable[httpx.Response]:
        return client.post(f"{url}/orders", json=order_body(index), headers=headers)

    def read(order_id: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: client.get(f"{url}/orders/{order_id}", headers=prefer)

    order: dict[str, Any] | None = None
    response = await attempts.send(post)
    while response is not None and response.is_success:
        order = response.json()
        if order["status"] in FINAL:
            break
        response = await attempts.send(read(order["id"]))
    if response is None:
        attempts.unexpected.append(f"order {index}: not final after {patience:g}s")
    elif not response.is_success:
        attempts.unexpected.append(f"order {index}: {response.status_code} {response.text[:200]}")
    status = order["status"] if order is not None else "unanswered"
    return Outcome(
        order_id=None if order is None else order["id"],
        status=status,
        retried=attempts.retried,
        unexpected=tuple(attempts.unexpected),
    )


@dataclass
class Tally:
    """What the customers were answered: per row (taken and reset by ``take``), and for
    the whole soak (the books need every order's final status)."""

    latencies: list[float] = field(default_factory=list)
    retried: int = 0
    finished: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    """Final status by order id."""
    indexes: dict[str, int] = field(default_factory=dict)
    """Each order's index: its body is ``order_body(index)``."""
    unexpected: list[str] = field(default_factory=list)

    def record(self, index: int, outcome: Outcome, seconds: float) -> None:
        self.retried += outcome.retried
        self.unexpected.extend(outcome.unexpected)
        if outcome.order_id is not None:
            self.indexes[outcome.order_id] = index
            self.statuses[outcome.order_id] = outcome.status
        if outcome.status in FINAL:
            self.finished += 1
            self.latencies.append(seconds)

    def take(self) -> tuple[tuple[float, ...], int]:
        """The latencies and retries since the last call."""
        taken = tuple(self.latencies), self.retried
        self.latencies, self.retried = [], 0
        return taken
