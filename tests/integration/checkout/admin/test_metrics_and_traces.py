"""``/metrics`` on the order service and a participant, and one trace across a saga."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from checkout.observability.tracing import trace_id_of
from checkout.payment.app import create_app as create_payment
from checkout.payment.settings import PaymentSettings
from tests.integration.checkout.admin.conftest import Orders
from tests.integration.checkout.conftest import SERVICE, Serve

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when it is absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


async def test_order_metrics_count_sagas_steps_and_requests(orders: Orders) -> None:
    orders.participants.answers["payment/payments/refunds"] = 500
    orders.participants.answers["shipping/shipments"] = 422
    failed = await orders.place()
    await orders.settled(failed)

    response = await orders.client.get("/metrics")
    for _ in range(100):  # the engine tells its observer just after the store
        if 'outcome="failed"' in response.text:
            break
        await asyncio.sleep(0.02)
        response = await orders.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "checkout_sagas_started_total", saga="checkout") == 1
    assert sample(text, "checkout_sagas_finished_total", saga="checkout", outcome="failed") == 1
    assert sample(text, "checkout_sagas_needing_attention") == 1
    assert sample(text, "checkout_sagas", status="failed") == 1
    assert sample(text, "checkout_sagas_in_flight") == 0
    assert sample(text, "checkout_saga_compensations_total", step="inventory") == 1
    assert (
        sample(text, "checkout_saga_step_retries_total", step="payment", direction="compensate")
        == 1
    )
    assert (
        sample(
            text,
            "checkout_saga_step_duration_seconds_count",
            step="payment",
            direction="forward",
            status="succeeded",
        )
        == 1
    )
    assert sample(text, "http_requests_total", method="POST", route="/orders", status="201") == 1
    assert (
        sample(
            text,
            "http_requests_total",
            method="GET",
            route="/admin/sagas/{saga_id}",
            status="200",
        )
        >= 1
    )
    assert failed not in text, "ids never become labels"


async def test_order_metrics_count_the_sql_statements_sent(orders: Orders) -> None:
    before = sample((await orders.client.get("/metrics")).text, "checkout_store_statements_total")

    await orders.settled(await orders.place())
    after = sample((await orders.client.get("/metrics")).text, "checkout_store_statements_total")

    # At least the order with its saga, and one write per step of the three.
    assert after - before >= 4


async def test_participants_serve_http_metrics_by_route_template(serve: Serve) -> None:
    payment = await serve("payment", create_payment, PaymentSettings)
    await payment.client.get(
        "/payments?order_id=6f1c1f4e-7f57-4d0a-9d0e-3c1f2b6f9d11", headers=SERVICE
    )
    await payment.client.get("/no/such/path")

    text = (await payment.client.get("/metrics")).text

    assert 'method="GET",route="/payments",status="200"' in text
    assert 'route="unmatched",status="404"' in text
    assert "6f1c1f4e" not in text


async def test_one_trace_crosses_every_participant_call_of_an_order(orders: Orders) -> None:
    orders.participants.answers["shipping/shipments"] = 422

    saga_id = await orders.place(traceparent=INCOMING)
    await orders.settled(saga_id)

    calls = orders.participants.requests
    assert len(calls) == 5  # charge, reserve, ship (refused), release, refund
    traces = [call.headers["traceparent"] for call in calls]
    assert {trace_id_of(t) for t in traces} == {TRACE_ID}
    assert len({t.split("-")[2] for t in traces}) == len(traces), "each call is its own span"


async def test_an_order_without_a_traceparent_starts_a_trace_of_its_own(orders: Orders) -> None:
    saga_id = await orders.place()
    await orders.settled(saga_id)

    traces = {trace_id_of(c.headers["traceparent"]) for c in orders.participants.requests}
    assert len(traces) == 1 and None not in traces
