"""Delivering the outbox of card holders' answers to the order service: taken, refused
for good, or tried again later; the order service faked with ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from checkout.common.database import Database
from checkout.payment import challenges, domain
from checkout.payment.tables import payment_events
from checkout.payment.webhooks import LONGEST_RETRY, WebhookSender, retry_delay

ORDERS = "http://orders.test"


class Clock:
    """Stands still unless moved, an hour after the notices were written: they are due."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


class OrderService:
    """Answers each notice with the next of ``answers`` (an exception: no answer)."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.received: list[httpx.Request] = []
        self.heard = asyncio.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        self.heard.set()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        code = "confirmation_timed_out" if answer == 409 else "ok"
        return httpx.Response(answer, json={"detail": {"code": code, "message": code}})


@pytest.fixture
def clock() -> Clock:
    return Clock()


SenderFactory = Callable[[OrderService], WebhookSender]


@pytest.fixture
def sender(db: Database, clock: Clock) -> SenderFactory:
    def make(orders: OrderService) -> WebhookSender:
        return WebhookSender(
            database=db,
            orders_url=ORDERS,
            token="service-token",
            timeout_seconds=1,
            transport=httpx.MockTransport(orders),
            clock=clock,
        )

    return make


async def an_answer(db: Database) -> str:
    """A 3DS payment confirmed by its holder; its order's id."""
    order_id = str(uuid.uuid4())
    payment = await db.run(
        domain.charge,
        order_id=order_id,
        customer_id="cust123",
        amount=Decimal("10.00"),
        payment_method="card_3ds",
        idempotency_key=f"{order_id}:payment:forward",
    )
    assert payment.challenge_id is not None
    await db.run(challenges.answer, challenge_id=payment.challenge_id, outcome="confirmed")
    return order_id


def _notices(connection: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    return list(connection.execute(sa.select(payment_events)))


async def test_a_notice_taken_by_the_order_service_is_delivered_once(
    db: Database, sender: SenderFactory
) -> None:
    order_id = await an_answer(db)
    orders = OrderService(200)
    webhooks = sender(orders)

    sent = await webhooks.deliver_due()
    again = await webhooks.deliver_due()

    assert (sent, again) == (1, 0)
    [request] = orders.received
    assert str(request.url) == f"{ORDERS}/payment-events"
    assert request.headers["Authorization"] == "Bearer service-token"
    body = json.loads(request.content)
    assert (body["order_id"], body["outcome"]) == (order_id, "confirmed")
    [notice] = await db.run(_notices)
    assert (notice.delivery, notice.attempts) == ("accepted", 1)


async def test_a_notice_the_order_no_longer_waits_for_is_not_sent_again(
    db: Database, sender: SenderFactory
) -> None:
    await an_answer(db)
    webhooks = sender(OrderService(409))

    await webhooks.deliver_due()

    [notice] = await db.run(_notices)
    assert notice.delivered_at is not None
    assert notice.delivery == "refused 409: confirmation_timed_out"
    assert await webhooks.deliver_due() == 0


@pytest.mark.parametrize("failure", [503, 401, httpx.ConnectError("refused")], ids=repr)
async def test_a_notice_without_a_final_answer_is_tried_again_later(
    db: Database, sender: SenderFactory, clock: Clock, failure: int | Exception
) -> None:
    await an_answer(db)
    orders = OrderService(failure, 200)
    webhooks = sender(orders)

    await webhooks.deliver_due()
    not_yet = await webhooks.deliver_due()
    clock.now += retry_delay(1)
    later = await webhooks.deliver_due()

    assert (not_yet, later) == (0, 1)
    [notice] = await db.run(_notices)
    assert (notice.delivery, notice.attempts) == ("accepted", 2)


async def test_while_running_it_sends_what_is_due_and_it_stops_when_told(
    db: Database, sender: SenderFactory
) -> None:
    await an_answer(db)
    orders = OrderService(200)
    webhooks = sender(orders)

    async with webhooks.running():
        webhooks.poke()
        async with asyncio.timeout(30):  # far longer than a delivery takes
            await orders.heard.wait()

    [notice] = await db.run(_notices)
    assert notice.delivery == "accepted"


def test_the_retries_back_off_to_a_minute() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 10)]

    assert delays[:4] == [timedelta(seconds=s) for s in (0.5, 1, 2, 4)]
    assert delays[-1] == LONGEST_RETRY == max(delays)
    assert retry_delay(10_000) == LONGEST_RETRY
