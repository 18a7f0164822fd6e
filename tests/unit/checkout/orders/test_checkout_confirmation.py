"""The checkout saga with a card that asks its holder (3-D Secure), the participants
mocked at the HTTP boundary (respx) and the engine's clock in the test's hands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import respx
from pydantic import ValidationError

from checkout.orders.participants import ParticipantClients, Participants
from checkout.orders.saga import CHECKOUT, CONFIRMATION_EVENT
from checkout.orders.settings import OrdersSettings
from sagakit import InMemorySagaStore, SagaEngine, SagaState, SagaStatus
from sagakit.http.transport_client import TransportParticipantClient
from tests.unit.checkout.orders.test_checkout_saga import INVENTORY, ORDER, PAYMENT, SHIPPING, ok

CHALLENGE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
WAIT = timedelta(minutes=3)
CHALLENGED = {"id": "pay-1", "status": "requires_confirmation", "challenge": {"id": CHALLENGE}}
CARD_3DS = {**ORDER, "payment_method": "card_3ds"}
ORDER_ID = str(ORDER["order_id"])


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Checkout:
    engine: SagaEngine
    clock: Clock

    async def parked(self) -> SagaState:
        """A 3DS order's saga, come to rest waiting for its card holder."""
        handle = await self.engine.start(CHECKOUT, input=CARD_3DS, saga_id=ORDER_ID)
        for _ in range(10_000):  # the in-memory store and the mocks never block
            state = await handle.status()
            if state.retry_at is not None:  # due later: parked
                return state
            await asyncio.sleep(0)
        raise AssertionError("the saga never came to rest")

    async def answered(self, outcome: str, challenge: str = CHALLENGE) -> SagaState:
        answer = {"challenge_id": challenge, "outcome": outcome}
        await self.engine.send(ORDER_ID, CONFIRMATION_EVENT, answer, key=f"{challenge}:{outcome}")
        return await self.engine.handle(ORDER_ID).result()


@pytest.fixture
async def checkout() -> AsyncIterator[Checkout]:
    mocked = httpx.MockTransport(respx.mock.async_handler)  # the routes each test sets

    def client(url: str) -> TransportParticipantClient:
        return TransportParticipantClient(url, transport=mocked, timeout_seconds=1)

    clients = ParticipantClients(
        payment=client(PAYMENT), inventory=client(INVENTORY), shipping=client(SHIPPING)
    )
    participants = Participants(clients=clients, token="service-token", confirmation_timeout=WAIT)
    clock = Clock()
    store = InMemorySagaStore(clock=clock, lease_duration=timedelta(hours=1))
    engine = SagaEngine(store=store, sagas=[CHECKOUT], deps=participants, clock=clock)
    yield Checkout(engine, clock)
    await engine.close()
    await clients.aclose()


def the_rest_answers_ok() -> tuple[respx.Route, respx.Route]:
    """Inventory, shipping and the payment's refund succeed: the reservation's route and
    the refund's."""
    reserve = respx.post(f"{INVENTORY}/reservations").mock(return_value=ok({"status": "reserved"}))
    respx.post(f"{SHIPPING}/shipments").mock(return_value=ok({"status": "created"}))
    refund = respx.post(f"{PAYMENT}/payments/refunds").mock(
        return_value=ok({"status": "voided"}, 200)
    )
    return reserve, refund


@respx.mock
async def test_a_charge_that_asks_the_holder_waits_as_long_as_the_deps_say(
    checkout: Checkout,
) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok(CHALLENGED))
    reserve, _ = the_rest_answers_ok()

    state = await checkout.parked()

    assert state.status is SagaStatus.RUNNING and state.cursor == 0
    assert state.wait_until == checkout.clock.now + WAIT.total_seconds()
    assert state.results["payment"] == CHALLENGED
    assert not reserve.called


@respx.mock
async def test_a_confirmation_goes_on_to_reserve_and_ship(checkout: Checkout) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok(CHALLENGED))
    reserve, refund = the_rest_answers_ok()
    await checkout.parked()

    done = await checkout.answered("confirmed")

    assert done.status is SagaStatus.COMPLETED
    assert done.results["payment"] == {**CHALLENGED, "status": "captured"}
    assert reserve.called and not refund.called


@respx.mock
async def test_a_decline_cancels_and_voids_the_payment(checkout: Checkout) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok(CHALLENGED))
    reserve, refund = the_rest_answers_ok()
    await checkout.parked()

    done = await checkout.answered("declined")

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None
    assert (done.failure.step, done.failure.code) == ("payment", "payment_declined")
    assert not reserve.called
    assert json.loads(refund.calls[0].request.content) == {
        "order_id": ORDER_ID,
        "amount": "35.00",
    }


@respx.mock
async def test_an_answer_to_another_challenge_cancels_rather_than_ships(
    checkout: Checkout,
) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok(CHALLENGED))
    reserve, refund = the_rest_answers_ok()
    await checkout.parked()

    done = await checkout.answered("confirmed", challenge="another-challenge")

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None and done.failure.code == "challenge_mismatch"
    assert not reserve.called and refund.called


@respx.mock
async def test_no_answer_in_time_cancels_and_voids_the_payment(checkout: Checkout) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok(CHALLENGED))
    reserve, refund = the_rest_answers_ok()
    await checkout.parked()

    checkout.clock.now += WAIT.total_seconds()
    assert await checkout.engine.recover() == 1
    done = await checkout.engine.handle(ORDER_ID).result()

    assert done.status is SagaStatus.COMPENSATED
    assert done.failure is not None
    assert (done.failure.step, done.failure.code) == ("payment", "event_timeout")
    assert not reserve.called and refund.called


@respx.mock
async def test_a_card_that_asks_nothing_does_not_wait(checkout: Checkout) -> None:
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok({"status": "captured"}))
    the_rest_answers_ok()

    done = await checkout.engine.run(CHECKOUT, input=ORDER)

    assert done.status is SagaStatus.COMPLETED and done.wait_until is None


def test_an_order_deadline_shorter_than_the_confirmation_wait_is_refused() -> None:
    with pytest.raises(ValidationError, match="ORDERS_DEADLINE_SECONDS must be longer"):
        OrdersSettings(
            service_token="s" * 32,
            admin_token="a" * 32,
            ORDERS_DEADLINE_SECONDS=600,
            ORDERS_CONFIRMATION_TIMEOUT_SECONDS=900,
        )
