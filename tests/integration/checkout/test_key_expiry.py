"""At every participant, a request too late to act changes nothing, and a key can be
forgotten once no request under it can act (checkout.common.key_expiry).

Each participant runs on a clock the test moves: "a week later" is a step of the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkout.inventory.app import create_app as inventory_app
from checkout.inventory.settings import InventorySettings
from checkout.payment.app import create_app as payment_app
from checkout.payment.settings import PaymentSettings
from checkout.shipping.app import create_app as shipping_app
from checkout.shipping.settings import ShippingSettings
from tests.integration.checkout.conftest import SERVICE, Serve, Service
from tests.support.keys import keyed
from tests.support.participants import FakeClock

NOW = 1_765_030_000.0
RETENTION = 7 * 86400
SKEW = 60
ADDRESS = {
    "street": "1 Main St",
    "city": "Cityville",
    "state": "ST",
    "postal_code": "12345",
    "country": "Country",
}


@dataclass(frozen=True)
class Participant:
    name: str
    create_app: Callable[..., Any]
    settings: Callable[..., Any]
    forward: str
    compensate: str
    effects: str
    """The table of its effects, whose ``status`` says whether one is undone."""
    in_force: str
    undone: str
    body: Callable[[str], dict[str, Any]]
    undo_body: Callable[[str], dict[str, Any]]

    def __str__(self) -> str:
        return self.name


PARTICIPANTS = [
    Participant(
        "payment",
        payment_app,
        PaymentSettings,
        "/payments",
        "/payments/refunds",
        "payments",
        "captured",
        "refunded",
        lambda order_id: {
            "order_id": order_id,
            "customer_id": "c-1",
            "amount": "20.00",
            "payment_method": "credit_card",
        },
        lambda order_id: {"order_id": order_id, "amount": "20.00"},
    ),
    Participant(
        "inventory",
        inventory_app,
        InventorySettings,
        "/reservations",
        "/reservations/release",
        "reservations",
        "reserved",
        "released",
        lambda order_id: {
            "order_id": order_id,
            "lines": [{"product_id": "product1", "quantity": 2}],
        },
        lambda order_id: {"order_id": order_id},
    ),
    Participant(
        "shipping",
        shipping_app,
        ShippingSettings,
        "/shipments",
        "/shipments/cancel",
        "shipments",
        "created",
        "cancelled",
        lambda order_id: {"order_id": order_id, "address": ADDRESS},
        lambda order_id: {"order_id": order_id},
    ),
]
each_participant = pytest.mark.parametrize("participant", PARTICIPANTS, ids=str)


@dataclass(frozen=True)
class Running:
    participant: Participant
    service: Service
    clock: FakeClock

    async def forward(self, order_id: str, **times: float) -> httpx.Response:
        return await self._post(
            self.participant.forward, self.participant.body(order_id), f"{order_id}:f", times
        )

    async def compensate(self, order_id: str, **times: float) -> httpx.Response:
        return await self._post(
            self.participant.compensate,
            self.participant.undo_body(order_id),
            f"{order_id}:c",
            times,
        )

    async def _post(
        self, path: str, body: dict[str, Any], key: str, times: dict[str, float]
    ) -> httpx.Response:
        times = {"issued_at": NOW, "deadline": self.clock.now + 5, **times}
        return await self.service.client.post(
            path, json=body, headers={**SERVICE, **keyed(key, **times)}
        )

    async def effects(self, order_id: str) -> list[str]:
        table = sa.table(self.participant.effects, sa.column("order_id"), sa.column("status"))
        query = sa.select(table.c.status).where(table.c.order_id == order_id)
        async with self.service.database.reading() as connection:
            return list((await connection.scalars(query)).all())

    async def count(self, table: str) -> int:
        query = sa.select(sa.func.count()).select_from(sa.table(table))
        async with self.service.database.reading() as connection:
            return int(await connection.scalar(query) or 0)

    async def forget_expired(self) -> dict[str, int]:
        pruned: dict[str, int] = await self.service.app.state.key_pruner.prune()
        return pruned


@pytest.fixture
async def running(serve: Serve, participant: Participant) -> Running:
    clock = FakeClock(NOW)
    service = await serve(
        participant.name, participant.create_app, participant.settings, clock=clock
    )
    return Running(participant, service, clock)


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


@each_participant
async def test_a_forward_request_past_its_deadline_changes_nothing(running: Running) -> None:
    order_id = str(uuid.uuid4())

    late = await running.forward(order_id, deadline=NOW - SKEW - 1)

    assert refusal(late) == (410, "request_expired")
    assert await running.effects(order_id) == []
    assert await running.count("answers") == 0
    assert await running.count("compensated_orders") == 0


@each_participant
async def test_a_compensation_past_its_deadline_leaves_the_effect_in_force(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    assert (await running.forward(order_id)).status_code == 201

    late = await running.compensate(order_id, deadline=NOW - SKEW - 1)

    assert refusal(late) == (410, "request_expired")
    assert await running.effects(order_id) == [running.participant.in_force]
    assert await running.count("answers") == 1  # the forward's only


@each_participant
async def test_a_compensation_past_its_deadline_with_nothing_to_undo_leaves_no_tombstone(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())

    late = await running.compensate(order_id, deadline=NOW - SKEW - 1)
    forward = await running.forward(order_id)

    assert refusal(late) == (410, "request_expired")
    assert await running.count("answers") == 1  # the forward's only
    assert forward.status_code == 201


@each_participant
async def test_a_late_request_is_refused_whatever_its_key_recorded(running: Running) -> None:
    order_id = str(uuid.uuid4())
    first = await running.forward(order_id)

    again = await running.forward(order_id, deadline=NOW - SKEW - 1)

    assert first.status_code == 201
    assert refusal(again) == (410, "request_expired")
    assert "Idempotent-Replayed" not in again.headers


@each_participant
async def test_a_forward_retry_under_an_expired_key_changes_nothing_once_its_answer_is_forgotten(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    assert (await running.forward(order_id)).status_code == 201
    running.clock.advance(RETENTION + 1)
    assert await running.forget_expired() == {"answers": 1, "compensated_orders": 0}

    retry = await running.forward(order_id)

    assert refusal(retry) == (410, "key_expired")
    assert await running.effects(order_id) == [running.participant.in_force]
    assert await running.count("answers") == 0


@each_participant
async def test_a_forward_request_under_a_key_older_than_the_window_is_refused_before_it_acts(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    running.clock.advance(RETENTION - 2 * SKEW + 1)

    late = await running.forward(order_id)

    assert refusal(late) == (410, "key_expired")
    assert await running.effects(order_id) == []
    assert await running.count("answers") == 0


@each_participant
async def test_a_compensation_under_a_key_older_than_the_retention_is_served(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    assert (await running.forward(order_id)).status_code == 201
    running.clock.advance(RETENTION + 1)

    undone = await running.compensate(order_id)

    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == running.participant.undone
    assert await running.effects(order_id) == [running.participant.undone]


@each_participant
async def test_a_compensation_under_a_forgotten_key_is_judged_afresh_and_undoes_nothing_twice(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    assert (await running.forward(order_id)).status_code == 201
    first = await running.compensate(order_id)
    running.clock.advance(RETENTION + 1)
    assert await running.forget_expired() == {"answers": 2, "compensated_orders": 0}

    again = await running.compensate(order_id)

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert "Idempotent-Replayed" not in again.headers  # judged afresh, not replayed
    assert await running.effects(order_id) == [running.participant.undone]


async def test_stock_released_under_a_forgotten_key_goes_back_once(serve: Serve) -> None:
    clock = FakeClock(NOW)
    inventory = await serve("inventory", inventory_app, InventorySettings, clock=clock)
    running = Running(PARTICIPANTS[1], inventory, clock)
    order_id = str(uuid.uuid4())
    await running.forward(order_id)
    await running.compensate(order_id)
    clock.advance(RETENTION + 1)
    await running.forget_expired()

    await running.compensate(order_id)

    assert (await inventory.client.get("/products/product1")).json()["available"] == 1000


async def test_a_refund_under_a_forgotten_key_refunds_once(serve: Serve) -> None:
    clock = FakeClock(NOW)
    payment = await serve("payment", payment_app, PaymentSettings, clock=clock)
    running = Running(PARTICIPANTS[0], payment, clock)
    order_id = str(uuid.uuid4())
    await running.forward(order_id)
    await running.compensate(order_id)
    clock.advance(RETENTION + 1)
    await running.forget_expired()

    await running.compensate(order_id)

    assert await running.count("refunds") == 1


@each_participant
async def test_a_tombstone_is_forgotten_with_its_sagas_keys_and_the_late_forward_still_refused(
    running: Running,
) -> None:
    order_id = str(uuid.uuid4())
    nothing = await running.compensate(order_id)
    running.clock.advance(RETENTION + 1)
    assert await running.forget_expired() == {"answers": 1, "compensated_orders": 1}

    late = await running.forward(order_id)

    assert nothing.status_code == 200 and nothing.json()["status"].startswith("nothing_to_")
    assert refusal(late) == (410, "key_expired")
    assert await running.effects(order_id) == []
