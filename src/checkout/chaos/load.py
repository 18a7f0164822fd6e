"""The customers of the chaos run: orders that mix the happy path with every
business failure, each sent until some orchestrator answers for it."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from checkout.chaos.clients import ClientCounts

ADDRESS = {
    "street": "1 Chaos Way",
    "city": "Entropy",
    "state": "ST",
    "postal_code": "00000",
    "country": "Country",
}
PLENTIFUL = tuple(f"chaos-{i}" for i in range(1, 6))
SCARCE = "chaos-scarce"
SCARCE_AT_START = 8
MOST_UNITS_PER_LINE = 3
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PlannedOrder:
    kind: str
    body: dict[str, Any]
    idempotency_key: str


def initial_stock() -> dict[str, int]:
    """Plenty of the common products; a few of the scarce one, which runs out within
    the first few dozen orders and is restocked (:mod:`checkout.chaos.restocks`)."""
    return {**dict.fromkeys(PLENTIFUL, 1_000_000), SCARCE: SCARCE_AT_START}


def plan_orders(count: int, rng: random.Random) -> list[PlannedOrder]:
    kinds = (
        ["ok"] * 60
        + ["scarce"] * 15
        + ["declined"] * 10
        + ["undeliverable"] * 10
        + ["unknown_product"] * 5
        # paid by card_3ds: the holder answers in time, twice, declines, late or never
        + ["3ds_confirm"] * 6
        + ["3ds_twice"] * 3
        + ["3ds_decline"] * 2
        + ["3ds_late"] * 2
        + ["3ds_never"] * 2
    )
    return [_order(rng.choice(kinds), rng) for _ in range(count)]


def _order(kind: str, rng: random.Random) -> PlannedOrder:
    product = SCARCE if kind == "scarce" else rng.choice(PLENTIFUL)
    if kind == "unknown_product":
        product = f"missing-{uuid.uuid4().hex[:6]}"
    items = [
        {
            "product_id": product,
            "name": "Chaos item",
            "price": "12.50",
            "quantity": rng.randint(1, MOST_UNITS_PER_LINE),
        }
    ]
    if kind == "ok" and rng.random() < 0.5:
        items.append(
            {
                "product_id": rng.choice(PLENTIFUL),
                "name": "Second item",
                "price": "3.99",
                "quantity": 1,
            }
        )
    body = {
        "customer_id": f"chaos-{rng.randint(1, 50)}",
        "items": items,
        "shipping_address": {**ADDRESS, "country": "XX" if kind == "undeliverable" else "Country"},
        "payment_method": _payment_method(kind, rng),
    }
    return PlannedOrder(kind, body, str(uuid.uuid4()))


def _payment_method(kind: str, rng: random.Random) -> str:
    if kind == "declined":
        return "declined_card"
    if kind.startswith("3ds_"):
        return "card_3ds"
    return rng.choice(["credit_card", "debit_card", "paypal"])


class OrderRefused(Exception):
    pass


RETRY_SECONDS = 0.2
LONGEST_RETRY_AFTER_SECONDS = 5.0


async def place(
    client: httpx.AsyncClient,
    order: PlannedOrder,
    orchestrators: Callable[[], Sequence[str]],
    *,
    rng: random.Random,
    counts: ClientCounts,
    give_up_after: float = 180.0,
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """POST the order, with its Idempotency-Key, to live orchestrators until one answers;
    the order as it answered.

    A killed, restarting or paused orchestrator, or a database that is down, costs a
    retry, never a lost or doubled order: the key makes every retry return the order
    the first attempt created. A 503 is retried after its ``Retry-After``; any other
    5xx is retried too (the order must still be placed) but ``counts`` keeps it, and
    it fails the run.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while True:
        url = rng.choice(list(orchestrators()))
        wait = RETRY_SECONDS
        try:
            response = await client.post(
                f"{url}/orders", json=order.body, headers={"Idempotency-Key": order.idempotency_key}
            )
        except httpx.TransportError as error:
            counts.failed(error)
        else:
            counts.answered(url, response)
            if response.status_code in (200, 201):
                placed: dict[str, Any] = response.json()
                return placed
            if response.status_code < 500 and response.status_code != 409:
                raise OrderRefused(f"{response.status_code}: {response.text[:300]}")
            wait = retry_after(response)
        if loop.time() > deadline:
            raise TimeoutError(f"no orchestrator took order {order.idempotency_key}")
        await sleep(wait)


def retry_after(response: httpx.Response) -> float:
    """The seconds ``Retry-After`` asks for (capped, so a wrong header cannot stall the
    run), or the usual short pause when it asks for nothing we understand."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return RETRY_SECONDS
    return min(max(seconds, RETRY_SECONDS), LONGEST_RETRY_AFTER_SECONDS)
