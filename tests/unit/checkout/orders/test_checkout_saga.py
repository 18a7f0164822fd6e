"""The checkout saga with the participants mocked at the HTTP boundary (respx)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import respx

from checkout.orders.participants import ParticipantClients, Participants, kept_of
from checkout.orders.saga import CHECKOUT, FORWARD_ATTEMPTS
from sagakit import InMemorySagaStore, SagaEngine, SagaStatus
from sagakit.http.transport_client import TransportParticipantClient

PAYMENT, INVENTORY, SHIPPING = "http://payment", "http://inventory", "http://shipping"
ORDER = {
    "order_id": "3f1c6f0e-8a52-4f0e-9a55-000000000001",
    "customer_id": "cust123",
    "total": "35.00",
    "payment_method": "credit_card",
    "lines": [{"product_id": "product1", "quantity": 2}],
    "address": {
        "street": "1 Main St",
        "city": "C",
        "state": "S",
        "postal_code": "1",
        "country": "Country",
    },
}


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def engine():
    mocked = httpx.MockTransport(respx.mock.async_handler)  # the routes each test sets

    def client(url: str) -> TransportParticipantClient:
        return TransportParticipantClient(url, transport=mocked, timeout_seconds=1)

    clients = ParticipantClients(
        payment=client(PAYMENT), inventory=client(INVENTORY), shipping=client(SHIPPING)
    )
    participants = Participants(clients=clients, token="service-token")
    # The real definition and number of attempts; a lease long enough that no retry's
    # wait parks the saga for a worker (the waits themselves are skipped).
    store = InMemorySagaStore(lease_duration=timedelta(hours=1))
    engine = SagaEngine(store=store, sagas=[CHECKOUT], deps=participants, sleep=no_sleep)
    yield engine, CHECKOUT
    await clients.aclose()


def ok(body: dict[str, object], status: int = 201) -> httpx.Response:
    return httpx.Response(status, json=body)


def refusal(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": {"code": code, "message": code}})


def paths(mock: respx.MockRouter) -> list[str]:
    return [f"{call.request.url.host}{call.request.url.path}" for call in mock.calls]


@respx.mock
async def test_pays_reserves_and_ships_with_keys_and_the_service_token(engine):
    sagas, saga = engine
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok({"status": "captured"}))
    respx.post(f"{INVENTORY}/reservations").mock(return_value=ok({"status": "reserved"}))
    respx.post(f"{SHIPPING}/shipments").mock(return_value=ok({"status": "created"}))

    state = await sagas.run(saga, input=ORDER, saga_id=ORDER["order_id"])

    assert state.status is SagaStatus.COMPLETED
    assert paths(respx.mock) == ["payment/payments", "inventory/reservations", "shipping/shipments"]
    charge = respx.mock.calls[0].request
    assert charge.headers["Authorization"] == "Bearer service-token"
    assert charge.headers["Idempotency-Key"] == f"{ORDER['order_id']}:payment:forward"
    assert json.loads(charge.content) == {
        "order_id": ORDER["order_id"],
        "customer_id": "cust123",
        "amount": "35.00",
        "payment_method": "credit_card",
    }


@respx.mock
async def test_a_declined_payment_cancels_with_nothing_to_compensate(engine):
    sagas, saga = engine
    respx.post(f"{PAYMENT}/payments").mock(return_value=refusal(402, "payment_declined"))

    state = await sagas.run(saga, input=ORDER)

    assert state.status is SagaStatus.COMPENSATED
    assert state.failure is not None and state.failure.code == "payment_declined"
    assert paths(respx.mock) == ["payment/payments"]


@respx.mock
async def test_refused_stock_refunds_the_payment(engine):
    sagas, saga = engine
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok({"status": "captured"}))
    respx.post(f"{INVENTORY}/reservations").mock(return_value=refusal(409, "insufficient_stock"))
    refund = respx.post(f"{PAYMENT}/payments/refunds").mock(
        return_value=ok({"status": "refunded"}, 200)
    )

    state = await sagas.run(saga, input=ORDER)

    assert state.status is SagaStatus.COMPENSATED
    assert (state.failure.step, state.failure.code) == ("inventory", "insufficient_stock")
    assert json.loads(refund.calls[0].request.content) == {
        "order_id": ORDER["order_id"],
        "amount": "35.00",
    }


@respx.mock
async def test_an_undeliverable_address_releases_then_refunds(engine):
    sagas, saga = engine
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok({"status": "captured"}))
    respx.post(f"{INVENTORY}/reservations").mock(return_value=ok({"status": "reserved"}))
    respx.post(f"{SHIPPING}/shipments").mock(return_value=refusal(422, "undeliverable"))
    respx.post(f"{INVENTORY}/reservations/release").mock(return_value=ok({}, 200))
    respx.post(f"{PAYMENT}/payments/refunds").mock(return_value=ok({}, 200))

    state = await sagas.run(saga, input=ORDER)

    assert state.status is SagaStatus.COMPENSATED
    assert paths(respx.mock)[3:] == ["inventory/reservations/release", "payment/payments/refunds"]


@respx.mock
async def test_a_500_after_the_work_is_retried_with_the_same_key(engine):
    sagas, saga = engine
    charge = respx.post(f"{PAYMENT}/payments").mock(
        side_effect=[httpx.Response(500), ok({"status": "captured"})]
    )
    respx.post(f"{INVENTORY}/reservations").mock(return_value=ok({"status": "reserved"}))
    respx.post(f"{SHIPPING}/shipments").mock(return_value=ok({"status": "created"}))

    state = await sagas.run(saga, input=ORDER)

    assert state.status is SagaStatus.COMPLETED
    keys = {call.request.headers["Idempotency-Key"] for call in charge.calls}
    assert len(charge.calls) == 2 and len(keys) == 1


@respx.mock
async def test_an_unreachable_participant_is_retried_then_compensated_as_unknown(engine):
    sagas, saga = engine
    respx.post(f"{PAYMENT}/payments").mock(return_value=ok({"status": "captured"}))
    reserve = respx.post(f"{INVENTORY}/reservations").mock(
        side_effect=httpx.ConnectError("connection refused")
    )
    release = respx.post(f"{INVENTORY}/reservations/release").mock(return_value=ok({}, 200))
    respx.post(f"{PAYMENT}/payments/refunds").mock(return_value=ok({}, 200))

    state = await sagas.run(saga, input=ORDER)

    assert state.status is SagaStatus.COMPENSATED
    assert len(reserve.calls) == FORWARD_ATTEMPTS
    assert release.called


def test_the_saga_keeps_an_answers_id_status_and_challenge_not_what_the_order_holds():
    payment = {
        "id": "pay-1",
        "order_id": "o-1",
        "amount": "35.00",
        "status": "requires_confirmation",
        "challenge": {"id": "ch-1", "kind": "3ds"},
    }
    reservation = {"id": "r-1", "order_id": "o-1", "status": "reserved", "lines": [{"q": 1}]}

    assert kept_of(payment) == {
        "id": "pay-1",
        "status": "requires_confirmation",
        "challenge": {"id": "ch-1", "kind": "3ds"},
    }
    assert kept_of(reservation) == {"id": "r-1", "status": "reserved"}
    assert kept_of({"order_id": "o-1", "status": "nothing_to_refund"}) == {
        "status": "nothing_to_refund"
    }
