"""The four apps in-process on migrated databases, and the checks every refusal must pass.

The order service's participants point at a port nobody listens on: a hostile request
must be refused before any saga starts, and one that is accepted just retries there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack
from typing import Any, Protocol

import httpx
import pytest
import sqlalchemy as sa

from checkout.common.database import Database
from checkout.inventory.app import create_app as create_inventory
from checkout.inventory.settings import InventorySettings
from checkout.migrations import upgrade_all
from checkout.orders.app import create_app as create_orders
from checkout.orders.settings import OrdersSettings
from checkout.payment.app import create_app as create_payment
from checkout.payment.settings import PaymentSettings
from checkout.processes import free_port
from checkout.shipping.app import create_app as create_shipping
from checkout.shipping.settings import ShippingSettings
from tests.conftest import DatabaseFactory
from tests.integration.checkout.conftest import ADMIN_TOKEN, SERVICE_TOKEN, Serve, Service
from tests.support.identity import IDENTITY

RAW = "__raw_json__"
"""A placeholder: :func:`raw_json` replaces ``"__raw_json__"`` with JSON text as is."""

EFFECT_TABLES = {
    "payment": ("payments", "refunds", "compensated_orders"),
    "inventory": ("reservations", "reservation_lines", "compensated_orders"),
    "shipping": ("shipments", "compensated_orders"),
    "orders": ("orders", "order_items", "sagakit_sagas"),
}


def raw_json(body: Any, raw: str | bytes = b"") -> bytes:
    """``body`` as JSON, with the string ``"__raw_json__"`` replaced by ``raw`` verbatim
    (``NaN``, ``1e309``, ``"\\ud800"``: text :func:`json.dumps` would refuse to write)."""
    text = json.dumps(body).encode()
    raw_bytes = raw.encode() if isinstance(raw, str) else raw
    return text.replace(f'"{RAW}"'.encode(), raw_bytes)


def assert_refused(response: httpx.Response, field: str | None, *, status: int = 422) -> None:
    """A JSON 4xx of the expected status; for 422, some error's ``loc`` names ``field``."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    if status == 422 and field is not None:
        assert isinstance(detail, list), detail
        locations = [error["loc"] for error in detail]
        assert any(field in loc for loc in locations), (field, locations)


async def row_count(database: Database, table: str) -> int:
    async with database.reading() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
    return int(count or 0)


async def assert_nothing_stored(database: Database, tables: Iterable[str]) -> None:
    counts = {table: await row_count(database, table) for table in tables}
    assert counts == dict.fromkeys(counts, 0), counts


@pytest.fixture
async def payment(serve: Serve) -> Service:
    return await serve("payment", create_payment, PaymentSettings)


@pytest.fixture
async def inventory(serve: Serve) -> Service:
    return await serve("inventory", create_inventory, InventorySettings)


@pytest.fixture
async def shipping(serve: Serve) -> Service:
    return await serve("shipping", create_shipping, ShippingSettings)


PARTICIPANTS = {
    "payment": (create_payment, PaymentSettings),
    "inventory": (create_inventory, InventorySettings),
    "shipping": (create_shipping, ShippingSettings),
}


@pytest.fixture
async def running(service: str, serve: Serve) -> Service:
    """The participant a test's ``service`` parameter names."""
    create_app, settings_class = PARTICIPANTS[service]
    return await serve(service, create_app, settings_class)


class StartOrders(Protocol):
    async def __call__(self, **settings: Any) -> Service: ...


@pytest.fixture
async def start_orders(make_database_url: DatabaseFactory) -> AsyncIterator[StartOrders]:
    """``await start_orders(**settings)``: the order service with its lifespan running, on
    a migrated database of its own; its participants are unreachable."""
    stack = AsyncExitStack()

    async def start(**settings: Any) -> Service:
        url = await make_database_url("orders")
        await asyncio.to_thread(upgrade_all, {"orders": url})
        nowhere = f"http://127.0.0.1:{free_port()}"
        app = create_orders(
            OrdersSettings(
                service_token=SERVICE_TOKEN,
                admin_token=ADMIN_TOKEN,
                database_url=url,
                payment_url=nowhere,
                inventory_url=nowhere,
                shipping_url=nowhere,
                call_timeout_seconds=1,
                **settings,
            )
        )
        database = Database(url)
        stack.push_async_callback(database.dispose)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders")
        return Service(await stack.enter_async_context(client), database, app)

    try:
        yield start
    finally:
        await stack.aclose()


@pytest.fixture
async def orders(start_orders: StartOrders) -> Service:
    """The order service as it starts by default: no customer identity configured."""
    return await start_orders()


@pytest.fixture
async def orders_with_identity(start_orders: StartOrders) -> Service:
    """The order service trusting the development identity (HS256) of the tests."""
    return await start_orders(**IDENTITY)
