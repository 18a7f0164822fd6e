"""The order service in-process with the real payment service behind it (both on
migrated databases of their own); inventory and shipping answer yes.

The payment service's notices (its webhook) are not sent here: the tests post them to
the order service themselves, as the payment service would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest

from checkout.common.database import Database
from checkout.migrations import upgrade_all
from checkout.orders.app import create_app as create_orders
from checkout.orders.settings import OrdersSettings
from checkout.payment.app import create_app as create_payment
from checkout.payment.settings import PaymentSettings
from tests.conftest import DatabaseFactory
from tests.integration.checkout.conftest import ADMIN_TOKEN, SERVICE_TOKEN

PAYMENT, INVENTORY, SHIPPING = "payment.test", "inventory.test", "shipping.test"
BOUND_SECONDS = 60
"""Far longer than any outcome here takes: reaching it means the outcome never came."""


class ByHost(httpx.AsyncBaseTransport):
    """Each participant's requests to its own transport; ``payment`` may be swapped."""

    def __init__(self, payment: httpx.AsyncBaseTransport) -> None:
        self.payment = payment
        self._yes = httpx.MockTransport(_yes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == PAYMENT:
            return await self.payment.handle_async_request(request)
        return await self._yes.handle_async_request(request)


def _yes(request: httpx.Request) -> httpx.Response:
    status = 200 if request.url.path.endswith(("/release", "/cancel")) else 201
    return httpx.Response(status, json={"status": "ok"})


@dataclass(frozen=True)
class Checkout:
    orders: httpx.AsyncClient
    payment: httpx.AsyncClient
    participants: ByHost

    async def place(self, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        """A 3DS order as ``POST /orders`` answers it, once it asks for the answer."""
        response = await self.orders.post(
            "/orders", json=body, headers={"Prefer": f"wait={BOUND_SECONDS}", **headers}
        )
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    async def ended(self, order_id: str, **headers: str) -> dict[str, Any]:
        """The order once completed, cancelled or failed."""
        async with asyncio.timeout(BOUND_SECONDS):
            while True:
                response = await self.orders.get(f"/orders/{order_id}", headers=headers)
                assert response.status_code == 200, response.text
                order: dict[str, Any] = response.json()
                if order["status"] in {"completed", "cancelled", "failed"}:
                    return order
                await asyncio.sleep(0.05)


class StartCheckout(Protocol):
    async def __call__(self, **settings: Any) -> Checkout: ...


@pytest.fixture
async def start_checkout(make_database_url: DatabaseFactory) -> AsyncIterator[StartCheckout]:
    """``await start_checkout(**order_settings)``: the order service (its lifespan
    running) and the payment service, each on a migrated database of its own."""
    stack = AsyncExitStack()

    async def start(**settings: Any) -> Checkout:
        urls = {name: await make_database_url(name) for name in ("orders", "payment")}
        await asyncio.to_thread(upgrade_all, urls)
        payment_database = Database(urls["payment"])
        stack.push_async_callback(payment_database.dispose)
        payment_app = create_payment(
            PaymentSettings(
                service_token=SERVICE_TOKEN, admin_token=ADMIN_TOKEN, database_url=urls["payment"]
            ),
            database=payment_database,
        )
        participants = ByHost(httpx.ASGITransport(app=payment_app))
        orders_app = create_orders(
            OrdersSettings(
                service_token=SERVICE_TOKEN,
                admin_token=ADMIN_TOKEN,
                database_url=urls["orders"],
                payment_url=f"http://{PAYMENT}",
                inventory_url=f"http://{INVENTORY}",
                shipping_url=f"http://{SHIPPING}",
                call_timeout_seconds=1,
                recovery_poll_seconds=0.1,
                **settings,
            ),
            participant_transport=participants,
        )
        await stack.enter_async_context(orders_app.router.lifespan_context(orders_app))
        clients: list[httpx.AsyncClient] = []
        for app, name in ((orders_app, "orders"), (payment_app, PAYMENT)):
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
            )
            clients.append(await stack.enter_async_context(client))
        return Checkout(clients[0], clients[1], participants)

    try:
        yield start
    finally:
        await stack.aclose()


@pytest.fixture
async def checkout(start_checkout: StartCheckout) -> Checkout:
    """As the services start by default: no customer identity, a 15-minute wait."""
    return await start_checkout()
