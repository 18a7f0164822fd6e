"""An order that cannot complete by its deadline gives back what it holds: with the
shipping service down, the order stops going forward once ``ORDERS_DEADLINE_SECONDS``
passes, long before the step's retries would run out, and is cancelled: its shipment
undone (the call may have landed), its reservation released, its payment refunded.
Real HTTP between the four services, on the suite's database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from checkout.processes import System
from tests.e2e.api import CheckoutApi, Running, item, order_body, unique
from tests.e2e.conftest import fresh_databases, remember_logs, running_system

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 4
BOUND_SECONDS = 90
"""Far longer than the deadline: reaching it means the order was never cancelled."""


@pytest.fixture(scope="module")
def hurried(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Running, System]]:
    """A system of its own whose orders must complete within a few seconds."""
    data_dir = tmp_path_factory.mktemp("deadline")
    remember_logs(request, data_dir / "logs")
    with (
        fresh_databases(tmp_path_factory) as urls,
        running_system(
            urls,
            data_dir,
            ORDERS_DEADLINE_SECONDS=str(DEADLINE_SECONDS),
            ORDERS_CONFIRMATION_TIMEOUT_SECONDS="2",
        ) as (running, system),
    ):
        yield running, system


@pytest.fixture
async def api(hurried: tuple[Running, System]) -> AsyncIterator[CheckoutApi]:
    running, _ = hurried
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        yield CheckoutApi(client=client, running=running)


async def test_an_order_past_its_deadline_returns_its_stock_and_its_money(
    api: CheckoutApi, hurried: tuple[Running, System]
) -> None:
    _, system = hurried
    product = unique("product")
    await api.set_stock(product, 5)
    system.stop("shipping")  # down for longer than the order may take
    try:
        response = await api.post_order(
            order_body(customer_id=unique("cust"), items=[item(product, 2)]), wait=0
        )
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        await asyncio.sleep(DEADLINE_SECONDS + 1)  # the deadline passes while it is down
    finally:
        system.start("shipping")  # back: the shipment's undoing can now be answered
        system.wait_healthy(names=("shipping",))
    started = time.monotonic()
    while (order := (await api.get_order(order_id, wait=10)).json())["status"] == "pending":
        assert time.monotonic() - started < BOUND_SECONDS, order

    assert order["status"] == "cancelled", order
    assert order["failure"]["code"] == "deadline_exceeded"
    assert await api.stock(product) == 5
    assert [p["status"] for p in await api.payments(order_id)] == ["refunded"]
    assert [s["status"] for s in await api.shipments(order_id)] in ([], ["cancelled"])
