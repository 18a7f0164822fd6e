"""The order service's readiness: its database and every participant, each within 2 s."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from checkout.migrations import upgrade_all
from checkout.orders.app import create_app
from checkout.orders.settings import OrdersSettings
from checkout.processes import free_port
from tests.conftest import DatabaseFactory
from tests.integration.checkout.conftest import ADMIN_TOKEN, SERVICE_TOKEN


@pytest.fixture
def silent_participant() -> Iterator[str]:
    """A participant that accepts connections and never answers (a hung process)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture
async def orders(
    make_database_url: DatabaseFactory, silent_participant: str
) -> AsyncIterator[httpx.AsyncClient]:
    url = await make_database_url("orders")
    await asyncio.to_thread(upgrade_all, {"orders": url})
    settings = OrdersSettings(
        service_token=SERVICE_TOKEN,
        admin_token=ADMIN_TOKEN,
        database_url=url,
        payment_url=silent_participant,
        inventory_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: refused
        shipping_url=silent_participant,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://o") as client,
    ):
        yield client


async def test_readiness_names_each_participant_that_does_not_answer_in_time(
    orders: httpx.AsyncClient,
) -> None:
    response = await orders.get("/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["payment"] == checks["shipping"] == "no answer within 2s"
    assert checks["inventory"].startswith("ConnectError")
    assert (await orders.get("/health")).status_code == 200
