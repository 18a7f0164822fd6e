"""The order service in-process on a migrated database, its participants faked with respx.

:class:`FakeParticipants` answers each participant path with a scripted status code, so
a test can make a saga complete, cancel, fail (its compensation gives up) or keep
running, and records every request it saw (headers included).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from checkout.migrations import upgrade_all
from checkout.orders.app import create_app
from checkout.orders.settings import OrdersSettings
from tests.conftest import DatabaseFactory
from tests.integration.checkout.conftest import ADMIN, ADMIN_TOKEN, SERVICE_TOKEN

PARTICIPANTS = {
    "payment": "http://payment.test",
    "inventory": "http://inventory.test",
    "shipping": "http://shipping.test",
}
PATHS = (
    "payment/payments",
    "payment/payments/refunds",
    "inventory/reservations",
    "inventory/reservations/release",
    "shipping/shipments",
    "shipping/shipments/cancel",
)


@dataclass
class FakeParticipants:
    """``answers["payment/payments/refunds"] = 500`` makes every refund fail."""

    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATHS, 200))
    requests: list[httpx.Request] = field(default_factory=list)

    def install(self, router: respx.MockRouter) -> None:
        for path in PATHS:
            service, _, rest = path.partition("/")
            router.post(f"{PARTICIPANTS[service]}/{rest}").mock(side_effect=self._answer(path))

    def _answer(self, path: str) -> Any:
        def answer(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            status = self.answers[path]
            if status == 422:
                return httpx.Response(422, json={"detail": {"code": "refused", "message": "no"}})
            return httpx.Response(status, json={"ok": status < 400})

        return answer


@dataclass(frozen=True)
class Orders:
    client: httpx.AsyncClient
    participants: FakeParticipants

    async def place(self, *, country: str = "Country", **headers: str) -> str:
        response = await self.client.post("/orders", json=order_body(country), headers=headers)
        assert response.status_code == 201, response.text
        order_id: str = response.json()["id"]
        return order_id

    async def saga(self, saga_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/admin/sagas/{saga_id}", headers=ADMIN)
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    async def settled(self, saga_id: str, *, seconds: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            detail = await self.saga(saga_id)
            if detail["status"] in {"completed", "compensated", "failed"}:
                return detail
            assert time.monotonic() < deadline, f"saga still {detail['status']}"
            await asyncio.sleep(0.05)


def order_body(country: str = "Country") -> dict[str, Any]:
    return {
        "customer_id": "cust-1",
        "items": [{"product_id": "p1", "name": "P1", "price": 10.0, "quantity": 2}],
        "shipping_address": {
            "street": "1 Main St",
            "city": "Town",
            "state": "State",
            "postal_code": "12345",
            "country": country,
        },
        "payment_method": "credit_card",
    }


@asynccontextmanager
async def orders_service(url: str, **settings: Any) -> AsyncIterator[Orders]:
    """The order service on ``url`` with faked participants; ``settings`` override."""
    await asyncio.to_thread(upgrade_all, {"orders": url})
    options: dict[str, Any] = {
        "call_timeout_seconds": 1,
        "forward_max_attempts": 6,  # a few seconds of retries, time for a test to act
        "compensation_max_attempts": 2,
        **settings,
    }
    participants = FakeParticipants()
    with respx.mock(assert_all_called=False) as router:
        participants.install(router)
        app = create_app(
            OrdersSettings(
                service_token=SERVICE_TOKEN,
                admin_token=ADMIN_TOKEN,
                database_url=url,
                payment_url=PARTICIPANTS["payment"],
                inventory_url=PARTICIPANTS["inventory"],
                shipping_url=PARTICIPANTS["shipping"],
                **options,
            ),
            participant_transport=httpx.MockTransport(router.async_handler),
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://orders"
            ) as client,
        ):
            yield Orders(client, participants)


@pytest.fixture
async def orders(make_database_url: DatabaseFactory) -> AsyncIterator[Orders]:
    async with orders_service(await make_database_url("orders")) as service:
        yield service
