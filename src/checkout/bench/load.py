"""What the benchmark sends, and how: a closed loop of C clients over N orders."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sagakit import Direction, StepContext, StepRejected, idempotency_key
from sagakit.http import ParticipantCaller, post_step
from sagakit.http.aiohttp_client import AiohttpParticipantClient

PRODUCTS = tuple(f"bench-{i}" for i in range(1, 11))
ADDRESS = {
    "street": "123 Main St",
    "city": "Cityville",
    "state": "State",
    "postal_code": "12345",
    "country": "Country",
}


STOCK = 1_000_000_000
"""Of every benchmark product: enough that no order is refused for want of it."""

CONNECTIONS_PER_PARTICIPANT = 8
"""For every orchestrator here (the order service gets it as a setting): a connection
pool costs more per request the more connections it holds."""
CONNECTIONS_VARIABLE = "ORDERS_CONNECTIONS_PER_PARTICIPANT"
PARTICIPANTS = ("payment", "inventory", "shipping")
CALL_TIMEOUT_SECONDS = 5.0


def participant_clients(
    urls: dict[str, str], connections: int = CONNECTIONS_PER_PARTICIPANT
) -> dict[str, ParticipantCaller]:
    """One client per participant, the kind our order service calls with: raw, the
    relay and DBOS call with it too, so what sets them apart is what they record."""
    return {
        service: AiohttpParticipantClient(
            url, timeout_seconds=CALL_TIMEOUT_SECONDS, max_connections=connections
        )
        for service, url in urls.items()
    }


def participant_clients_from_environment(
    clients: Callable[[dict[str, str], int], dict[str, ParticipantCaller]],
) -> dict[str, ParticipantCaller]:
    """The ``clients`` of a benchmark service: the URLs and the pool size the run set."""
    return clients(
        {service: os.environ[f"{service.upper()}_URL"] for service in PARTICIPANTS},
        int(os.environ.get(CONNECTIONS_VARIABLE, CONNECTIONS_PER_PARTICIPANT)),
    )


async def stock_products(client: httpx.AsyncClient, inventory_url: str, admin_token: str) -> None:
    """Enough of every benchmark product that no order is refused for stock."""
    for product in PRODUCTS:
        response = await client.put(
            f"{inventory_url}/products/{product}",
            json={"available": STOCK},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        response.raise_for_status()


def order_body(index: int, *, payment_method: str = "credit_card") -> dict[str, Any]:
    """The seed's order; every tenth compensates at the last step (country XX)."""
    first, second = PRODUCTS[index % 10], PRODUCTS[(index + 1) % 10]
    return {
        "customer_id": f"bench-{index % 100}",
        "items": [
            {"product_id": first, "name": "Product 1", "price": 10.0, "quantity": 2},
            {"product_id": second, "name": "Product 2", "price": 15.0, "quantity": 1},
        ],
        "shipping_address": {**ADDRESS, "country": "XX" if index % 10 == 9 else "Country"},
        "payment_method": payment_method,
    }


@dataclass(frozen=True)
class Measurement:
    orders: int
    concurrency: int
    seconds: float
    latencies: tuple[float, ...]
    cpu_ms_per_order: dict[str, float] = field(default_factory=dict)
    statements_per_order: float | None = None
    """SQL statements our order service sent per order (its ``/metrics``); ours only."""

    @property
    def throughput(self) -> float:
        return self.orders / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def closed_loop(
    orders: int,
    concurrency: int,
    place: Callable[[int], Awaitable[None]],
    *,
    on_done: Callable[[], None] = lambda: None,
) -> Measurement:
    """C clients, each placing its next order as soon as its previous one settled."""
    counter = itertools.count()
    latencies: list[float] = []

    async def client() -> None:
        while (index := next(counter)) < orders:
            started = time.perf_counter()
            await place(index)
            latencies.append(time.perf_counter() - started)
            on_done()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Measurement(orders, concurrency, time.perf_counter() - started, tuple(latencies))


def through_order_service(
    client: httpx.AsyncClient, url: str, *, payment_method: str = "credit_card"
) -> Callable[[int], Awaitable[None]]:
    """Place an order and hold the answer until it settles (``Prefer: wait``), or waits
    for its card holder."""

    async def place(index: int) -> None:
        body = order_body(index, payment_method=payment_method)
        response = await client.post(f"{url}/orders", json=body, headers={"Prefer": "wait=60"})
        response.raise_for_status()
        if response.json()["status"] == "pending":
            raise RuntimeError(f"order {response.json()['id']} still pending after 60 s")

    return place


def raw_calls(
    clients: dict[str, ParticipantCaller], token: str
) -> Callable[[int], Awaitable[None]]:
    """The floor: the same participant calls, made directly, with nothing recorded."""
    checkout = checkout_calls(clients, token)

    async def place(index: int) -> None:
        await checkout(order_body(index), str(uuid.uuid4()))

    return place


def direct_context(
    order_id: str, step: str, direction: Direction, *, saga_name: str
) -> StepContext[Any, Any]:
    """The context of a participant call made without sagakit's engine: its key, and the
    times a participant asks of every call (issued now; due within the call timeout)."""
    now = time.time()
    return StepContext(
        saga_id=order_id,
        saga_name=saga_name,
        step=step,
        direction=direction,
        idempotency_key=idempotency_key(order_id, step, direction),
        attempt=1,
        input={},
        results={},
        key_issued_at=now,
        deadline=now + CALL_TIMEOUT_SECONDS,
    )


def checkout_calls(
    clients: dict[str, ParticipantCaller], token: str
) -> Callable[[dict[str, Any], str], Awaitable[str]]:
    """The checkout's participant calls for one order body, in order, with nothing
    recorded; a refused shipment releases and refunds. Returns the order's status."""
    headers = {"Authorization": f"Bearer {token}"}

    async def call(
        service: str, path: str, order_id: str, step: str, direction: Direction, body: Any
    ) -> None:
        context = direct_context(order_id, step, direction, saga_name="raw")
        await post_step(clients[service], path, context=context, json=body, headers=headers)

    async def checkout(body: dict[str, Any], order_id: str) -> str:
        items = body["items"]
        lines = [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in items]
        total = f"{sum(Decimal(str(i['price'])) * i['quantity'] for i in items):.2f}"
        fwd, back = Direction.FORWARD, Direction.COMPENSATE
        charge = {
            "order_id": order_id,
            "customer_id": body["customer_id"],
            "amount": total,
            "payment_method": body["payment_method"],
        }
        await call("payment", "/payments", order_id, "payment", fwd, charge)
        reserve = {"order_id": order_id, "lines": lines}
        await call("inventory", "/reservations", order_id, "inventory", fwd, reserve)
        ship = {"order_id": order_id, "address": body["shipping_address"]}
        try:
            await call("shipping", "/shipments", order_id, "shipping", fwd, ship)
        except StepRejected:
            release = {"order_id": order_id}
            await call("inventory", "/reservations/release", order_id, "inventory", back, release)
            refund = {"order_id": order_id, "amount": total}
            await call("payment", "/payments/refunds", order_id, "payment", back, refund)
            return "cancelled"
        return "completed"

    return checkout


def summary(measurements: list[Measurement]) -> dict[str, float]:
    throughputs = [m.throughput for m in measurements]
    return {
        "throughput_median": statistics.median(throughputs),
        "throughput_min": min(throughputs),
        "throughput_max": max(throughputs),
        "p50_ms": statistics.median(m.percentile(50) for m in measurements) * 1000,
        "p95_ms": statistics.median(m.percentile(95) for m in measurements) * 1000,
        "p99_ms": statistics.median(m.percentile(99) for m in measurements) * 1000,
    }


STATEMENTS_METRIC = "checkout_store_statements"


async def statements_sent(client: httpx.AsyncClient, url: str) -> float:
    """The order service's count of SQL statements sent, from its ``/metrics``."""
    response = await client.get(f"{url}/metrics")
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        if family.name == STATEMENTS_METRIC:
            return float(family.samples[0].value)
    raise RuntimeError(f"{url}/metrics has no {STATEMENTS_METRIC}_total")
