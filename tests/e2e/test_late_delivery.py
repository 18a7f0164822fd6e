"""A request that lands after its caller gave up never leaves an effect on a cancelled order.

The reproduction of a defect a new user found: the first reservation request hangs in
the inventory service past the orchestrator's timeout, the retry is refused for want of
stock, the order is cancelled and the product restocked; then the first request wakes
up and acts. It must find the order settled (the refusal recorded under its key, and the
reservation compensated), not take the restocked units.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.api import CheckoutApi, Running, item, order_body, step, unique
from tests.e2e.conftest import fresh_databases, remember_logs, running_system

pytestmark = pytest.mark.e2e

CALL_TIMEOUT_SECONDS = 2
HANG_SECONDS = 6


@pytest.fixture(scope="module")
def faulty(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A system of its own, with fault injection on and a short call timeout."""
    data_dir = tmp_path_factory.mktemp("late-delivery")
    remember_logs(request, data_dir / "logs")
    with (
        fresh_databases(tmp_path_factory) as urls,
        running_system(
            urls,
            data_dir,
            FAULTS_ENABLED="1",
            ORDERS_CALL_TIMEOUT_SECONDS=str(CALL_TIMEOUT_SECONDS),
        ) as (running, _),
    ):
        yield running


@pytest.fixture
async def api(faulty: Running) -> AsyncIterator[CheckoutApi]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        yield CheckoutApi(client=client, running=faulty)
    assert faulty.exited() == {}


async def set_faults(api: CheckoutApi, service: str, **faults: float) -> None:
    response = await api.client.put(
        api.url(service, "/admin/faults"), json=faults, headers=api.admin_auth
    )
    assert response.status_code == 200, response.text


async def answers_given(api: CheckoutApi, service: str, method: str, route: str) -> int:
    """How many requests to ``route`` the service has finished answering."""
    text = (await api.client.get(api.url(service, "/metrics"))).text
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        if family.name == "http_requests"
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels.get("method") == method
        and sample.labels.get("route") == route
    )


async def wait_for_answers(
    api: CheckoutApi, service: str, route: str, count: int, *, within: float
) -> None:
    deadline = time.monotonic() + within
    while await answers_given(api, service, "POST", route) < count:
        assert time.monotonic() < deadline, f"{service} answered fewer than {count} {route}"
        await asyncio.sleep(0.2)


async def test_a_reservation_landing_after_the_order_was_cancelled_takes_nothing(
    api: CheckoutApi,
) -> None:
    product = unique("product")
    await api.set_stock(product, 0)
    answered_before = await answers_given(api, "inventory", "POST", "/reservations")
    await set_faults(api, "inventory", timeout_rate=1.0, hang_seconds=HANG_SECONDS)
    placed = await api.post_order(order_body(customer_id=unique("cust"), items=[item(product, 2)]))
    assert placed.status_code == 201, placed.text
    await asyncio.sleep(1)
    await set_faults(api, "inventory")  # the retry goes through, and is refused

    order = await api.settled(placed.json()["id"], wait=30)
    await api.set_stock(product, 100)
    # Both reservation requests answered: the retry, then the hung first one, which
    # acted only now, after the cancellation and the restock.
    await wait_for_answers(api, "inventory", "/reservations", answered_before + 2, within=60)

    assert order["status"] == "cancelled"
    inventory = step(order, "inventory")
    assert inventory["status"] == "rejected"
    assert inventory["attempts"] == 2
    assert await api.stock(product) == 100
    assert [r for r in await api.reservations(order["id"]) if r["status"] == "reserved"] == []
    assert [p["status"] for p in await api.payments(order["id"])] == ["refunded"]
