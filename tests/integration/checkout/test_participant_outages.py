"""A participant whose database is down answers 503, says so in readiness, and stays alive.

"Down" on PostgreSQL is a server that refuses connections (nothing listens on the
port); on SQLite, a database file that cannot be opened (its folder is a file).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from checkout.common.database import Database
from checkout.migrations import upgrade_all
from checkout.payment.app import create_app
from checkout.payment.settings import PaymentSettings
from checkout.processes import free_port
from tests.conftest import DatabaseFactory, test_database_backend
from tests.integration.checkout.conftest import ADMIN_TOKEN, SERVICE, SERVICE_TOKEN
from tests.support.keys import keyed

CHARGE = {
    "customer_id": "c-1",
    "amount": "10.00",
    "payment_method": "credit_card",
}


def unreachable_url(tmp_path: Path) -> str:
    if test_database_backend() == "sqlite":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the database's folder should be")
        return f"sqlite+aiosqlite:///{blocker}/payment.db"
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/payment"


async def client_of(url: str, **settings: float) -> AsyncIterator[httpx.AsyncClient]:
    options = PaymentSettings(
        service_token=SERVICE_TOKEN, admin_token=ADMIN_TOKEN, database_url=url, **settings
    )
    app = create_app(options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as client,
    ):
        yield client


@pytest.fixture
async def down(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_of(unreachable_url(tmp_path)):
        yield client


async def test_a_write_answers_503_with_retry_after_and_the_usual_error_body(
    down: httpx.AsyncClient,
) -> None:
    response = await down.post(
        "/payments",
        json={**CHARGE, "order_id": str(uuid.uuid4())},
        headers={**SERVICE, **keyed("k-1")},
    )

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    detail = response.json()["detail"]
    assert detail["code"] == "database_unavailable"
    assert "Idempotency-Key" in detail["message"]


async def test_a_read_answers_503(down: httpx.AsyncClient) -> None:
    response = await down.get("/payments", params={"order_id": str(uuid.uuid4())}, headers=SERVICE)

    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "database_unavailable"


async def test_readiness_names_the_database_and_liveness_stays_up(
    down: httpx.AsyncClient,
) -> None:
    ready = await down.get("/ready")
    alive = await down.get("/health")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"] != "ok"
    assert alive.status_code == 200


async def test_a_reachable_database_is_ready(make_database_url: DatabaseFactory) -> None:
    url = await make_database_url("payment")
    await asyncio.to_thread(upgrade_all, {"payment": url})
    async for client in client_of(url):
        response = await client.get("/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_a_request_that_finds_the_pool_busy_waits_the_configured_time_then_answers_503(
    make_database_url: DatabaseFactory,
) -> None:
    if test_database_backend() == "sqlite":
        pytest.skip("SQLite has no connection pool: its writers queue for the one write lock")
    url = await make_database_url("payment")
    await asyncio.to_thread(upgrade_all, {"payment": url})
    database = Database(url, pool_timeout=0.5, max_overflow=0)
    held = [database._blocking_engine().connect() for _ in range(8)]  # the whole pool
    try:
        app = create_app(
            PaymentSettings(service_token=SERVICE_TOKEN, admin_token=ADMIN_TOKEN, database_url=url),
            database=database,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
            began = time.monotonic()
            response = await client.post(
                "/payments",
                json={**CHARGE, "order_id": str(uuid.uuid4())},
                headers={**SERVICE, **keyed("k-2")},
            )
            waited = time.monotonic() - began
    finally:
        for connection in held:
            connection.close()
        await database.dispose()

    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "database_unavailable"
    assert waited < 30  # not SQLAlchemy's default wait, however busy the machine
