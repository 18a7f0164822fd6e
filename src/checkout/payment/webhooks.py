"""Telling the order service what a card holder answered: the outbox, delivered.

An answer and its notice are written in one transaction
(:mod:`checkout.payment.challenges`); this module sends each notice to the order
service's ``POST /payment-events`` with the service token until it is taken (2xx) or
refused for good: 404 (no such order) or 409 (the order no longer waits for it: its own
timeout decided, and its compensation gives back whatever was taken). Anything else (no
answer in time, a 5xx, a 401 while the tokens disagree) is tried again, backing off from
half a second to a minute: a notice is never dropped. The order service takes the same
answer twice as one, so a notice sent again after a lost reply does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import Connection

from checkout.common.database import Database
from checkout.payment.tables import payment_events
from sagakit.unavailable import OutageLog, is_unavailable

log = logging.getLogger("checkout.payment.webhooks")

PATH = "/payment-events"
FIRST_RETRY = timedelta(seconds=0.5)
LONGEST_RETRY = timedelta(minutes=1)
IDLE_SECONDS = 5.0
"""How often the outbox is looked at when nothing was poked: notices written by another
process of the service, or left by one that stopped before sending them."""
BATCH = 20
FINAL_REFUSALS = frozenset({404, 409})

Clock = Callable[[], datetime]


@dataclass(frozen=True, kw_only=True)
class Notice:
    id: str
    order_id: str
    payment_id: str
    challenge_id: str
    outcome: str
    attempts: int

    def body(self) -> dict[str, Any]:
        return {
            "event_id": self.id,
            "order_id": self.order_id,
            "payment_id": self.payment_id,
            "challenge_id": self.challenge_id,
            "outcome": self.outcome,
        }


def retry_delay(attempts: int) -> timedelta:
    """The wait after a notice's ``attempts``-th failed delivery (``attempts >= 1``):
    ``min(LONGEST_RETRY, FIRST_RETRY * 2 ** (attempts - 1))``."""
    doubled: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 20)
    return min(LONGEST_RETRY, doubled)


def due_notices(connection: Connection, *, now: datetime, limit: int = BATCH) -> list[Notice]:
    columns = [payment_events.c[name] for name in Notice.__dataclass_fields__]
    rows = connection.execute(
        sa.select(*columns)
        .where(payment_events.c.delivered_at.is_(None), payment_events.c.next_attempt_at <= now)
        .order_by(payment_events.c.next_attempt_at)
        .limit(limit)
    )
    return [Notice(**row._mapping) for row in rows]


def next_due(connection: Connection) -> datetime | None:
    """When the earliest notice still to deliver is due, if any."""
    query = sa.select(sa.func.min(payment_events.c.next_attempt_at)).where(
        payment_events.c.delivered_at.is_(None)
    )
    due: datetime | None = connection.scalar(query)
    # SQLite keeps no time zone; every time stored here is UTC.
    return due.replace(tzinfo=UTC) if due is not None and due.tzinfo is None else due


def record_delivery(
    connection: Connection, notice: Notice, *, delivery: str | None, now: datetime
) -> None:
    """``delivery`` says how the order service took the notice; None: try again later."""
    attempts = notice.attempts + 1
    where = payment_events.c.id == notice.id
    if delivery is not None:
        values: dict[str, Any] = {"attempts": attempts, "delivered_at": now, "delivery": delivery}
    else:
        values = {"attempts": attempts, "next_attempt_at": now + retry_delay(attempts)}
    connection.execute(payment_events.update().where(where).values(**values))


class WebhookSender:
    """Delivers the outbox while ``running``; ``poke`` after writing a notice sends it
    at once rather than at the next look."""

    def __init__(
        self,
        *,
        database: Database,
        orders_url: str,
        token: str,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._database, self._url = database, orders_url.rstrip("/") + PATH
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout, self._transport, self._clock = timeout_seconds, transport, clock
        self._poked = asyncio.Event()
        self._outages = OutageLog(log)

    def poke(self) -> None:
        self._poked.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(self._deliver_until(stop))
        try:
            yield
        finally:
            stop.set()
            await task

    async def deliver_due(self) -> int:
        """Send every notice that is due once; how many were sent."""
        due = await self._database.run(due_notices, now=self._clock())
        if not due:
            return 0
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            for notice in due:
                delivery = await self._send(client, notice)
                await self._database.run(
                    record_delivery, notice, delivery=delivery, now=self._clock()
                )
        return len(due)

    async def _send(self, client: httpx.AsyncClient, notice: Notice) -> str | None:
        try:
            response = await client.post(self._url, json=notice.body(), headers=self._headers)
        except httpx.HTTPError as error:
            log.warning(
                "notice %s: no answer from %s (%r); trying again", notice.id, self._url, error
            )
            return None
        if response.is_success:
            return "accepted"
        if response.status_code in FINAL_REFUSALS:
            refusal = f"refused {response.status_code}: {_code(response)}"
            log.info("notice %s for order %s %s", notice.id, notice.order_id, refusal)
            return refusal[:200]
        log.warning(
            "notice %s: %s answered %s; trying again", notice.id, self._url, response.status_code
        )
        return None

    async def _deliver_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._poked.clear()
            wait = IDLE_SECONDS
            try:
                await self.deliver_due()
                due = await self._database.run(next_due)
                if due is not None:
                    wait = min(wait, max((due - self._clock()).total_seconds(), 0.0))
            except Exception as error:
                if not is_unavailable(error):
                    log.exception("delivering payment notices failed; trying again")
                else:
                    self._outages.failed("delivering payment notices: database unavailable", error)
            await _first_of(stop, self._poked, seconds=wait)


async def _first_of(*events: asyncio.Event, seconds: float) -> None:
    """Until one of ``events`` is set, or ``seconds`` have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, LookupError, TypeError):
        return str(response.json()["detail"]["code"])
    return "no code"
