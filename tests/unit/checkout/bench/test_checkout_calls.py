"""The calls ``raw`` and ``relay`` make for one order, against mocked participants."""

from __future__ import annotations

import json

import httpx
import respx

from checkout.bench.load import checkout_calls, order_body
from sagakit.http import ParticipantCaller
from sagakit.http.transport_client import TransportParticipantClient


def clients() -> dict[str, ParticipantCaller]:
    mocked = httpx.MockTransport(respx.mock.async_handler)  # the routes each test sets
    return {
        name: TransportParticipantClient(f"http://{name}.test", transport=mocked, timeout_seconds=1)
        for name in ("payment", "inventory", "shipping")
    }


@respx.mock
async def test_an_order_is_charged_reserved_and_shipped_with_its_total():
    charge = respx.post("http://payment.test/payments").respond(201, json={})
    respx.post("http://inventory.test/reservations").respond(201, json={})
    respx.post("http://shipping.test/shipments").respond(201, json={})

    status = await checkout_calls(clients(), "token")(order_body(0), "order-1")

    assert status == "completed"
    sent = charge.calls.last.request
    assert json.loads(sent.content)["amount"] == "35.00"  # 2 × 10.0 + 1 × 15.0
    assert sent.headers["Authorization"] == "Bearer token"
    assert sent.headers["Idempotency-Key"] == "order-1:payment:forward"


@respx.mock
async def test_a_refused_shipment_releases_then_refunds_what_was_charged():
    respx.post("http://payment.test/payments").respond(201, json={})
    respx.post("http://inventory.test/reservations").respond(201, json={})
    respx.post("http://shipping.test/shipments").respond(422, json={"detail": "no"})
    release = respx.post("http://inventory.test/reservations/release").respond(200, json={})
    refund = respx.post("http://payment.test/payments/refunds").respond(200, json={})

    status = await checkout_calls(clients(), "token")(order_body(9), "order-9")

    assert status == "cancelled"
    assert release.called and refund.called
    assert release.calls.last.request.headers["Idempotency-Key"] == "order-9:inventory:compensate"
    assert json.loads(refund.calls.last.request.content)["amount"] == "35.00"
    assert respx.calls[-2].request.url.path == "/reservations/release"  # reverse order
