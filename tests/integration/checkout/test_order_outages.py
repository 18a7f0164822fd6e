"""The order service with its database down: 503s, readiness that says why, no 500s.

"Down" is a PostgreSQL server that refuses connections (nothing listens on the port).
An order service on SQLite opens its database file as it starts (one it cannot open
stops it from starting), and has no server to lose afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from checkout.orders.app import create_app
from checkout.orders.settings import OrdersSettings
from checkout.processes import free_port
from tests.conftest import test_database_backend
from tests.e2e.api import SEED_ORDER
from tests.integration.checkout.conftest import ADMIN, ADMIN_TOKEN, SERVICE_TOKEN

pytestmark = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="a database server that goes away: TEST_DATABASE=postgresql",
)


@pytest.fixture
async def down() -> AsyncIterator[httpx.AsyncClient]:
    settings = OrdersSettings(
        service_token=SERVICE_TOKEN,
        admin_token=ADMIN_TOKEN,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/orders",
        recovery_poll_seconds=0.05,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://o") as client,
    ):
        yield client


async def test_placing_an_order_answers_503_with_retry_after(down: httpx.AsyncClient) -> None:
    response = await down.post("/orders", json=SEED_ORDER, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert response.json()["detail"]["code"] == "database_unavailable"


async def test_reading_an_order_and_the_admin_api_answer_503(down: httpx.AsyncClient) -> None:
    read = await down.get(f"/orders/{uuid.uuid4()}")
    listed = await down.get("/admin/sagas", headers=ADMIN)

    assert (read.status_code, listed.status_code) == (503, 503)


async def test_readiness_names_the_database_and_liveness_stays_up(
    down: httpx.AsyncClient,
) -> None:
    ready = await down.get("/ready")

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] != "ok"
    assert (await down.get("/health")).status_code == 200


async def test_the_outage_is_logged_in_a_line_per_interval_not_a_traceback_per_request(
    down: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            await down.post("/orders", json=SEED_ORDER)
            await down.get(f"/orders/{uuid.uuid4()}")

    assert not [record for record in caplog.records if record.exc_info]
    lines = [r.getMessage() for r in caplog.records if r.name == "checkout.outages"]
    assert 1 <= len(lines) <= 4  # a line per kind of failure, not one per request
