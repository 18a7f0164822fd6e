"""The chaos run's outage options: what they refuse, and when their events happen.

A run restarts only a server it started itself, unless told it may restart another;
and every event, however long it takes, happens while orders are still coming in.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from checkout.chaos.config import ChaosConfig
from checkout.chaos.mayhem import Mayhem
from checkout.processes import System

SOMEONE_ELSES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def test_database_restarts_on_a_server_the_run_did_not_start_are_refused() -> None:
    with pytest.raises(ValueError, match="--i-may-restart-this-server"):
        ChaosConfig(backend="postgresql", db_restarts=1, postgres_url=SOMEONE_ELSES)


def test_database_restarts_are_allowed_on_a_named_server_when_the_run_is_told_it_may() -> None:
    config = ChaosConfig(
        backend="postgresql", db_restarts=1, postgres_url=SOMEONE_ELSES, may_restart_server=True
    )

    assert not config.private_server


def test_database_restarts_without_a_server_named_use_a_private_cluster() -> None:
    assert ChaosConfig(backend="postgresql", db_restarts=3).private_server
    assert not ChaosConfig(backend="postgresql").private_server


def test_database_restarts_need_postgresql() -> None:
    with pytest.raises(ValueError, match="--backend postgresql"):
        ChaosConfig(db_restarts=1)


def test_leave_to_restart_needs_a_server_to_restart() -> None:
    with pytest.raises(ValueError, match="--postgres-url"):
        ChaosConfig(backend="postgresql", db_restarts=1, may_restart_server=True)


def test_a_participant_down_range_must_be_a_range() -> None:
    with pytest.raises(ValueError, match="participant_down_seconds"):
        ChaosConfig(participant_kills=1, participant_down_seconds=(5.0, 1.0))


EVENT_TURNS = 50
"""How many turns of the event loop an event lasts: far longer than an order takes,
as a database restart lasts far longer than placing one order. No clock involved."""


class Shop:
    """Customers placing orders, and a mayhem whose events each record how many orders
    had been taken when they began."""

    def __init__(self, total: int, events: dict[str, int]) -> None:
        self.mayhem = Mayhem(
            System(env={}, ports={"orders": 1}),
            random.Random(1),
            more={kind: self._event for kind in events},
        )
        self.mayhem.plan(events, total=total)
        self.total, self.taken, self.placed = total, 0, 0
        self.progressed = asyncio.Event()
        self.began_at: list[int] = []

    async def _event(self) -> None:
        self.began_at.append(self.taken)
        for _ in range(EVENT_TURNS):
            await asyncio.sleep(0)  # customers run on while the event lasts

    async def customer(self, orders: list[int]) -> None:
        while orders:
            index = orders.pop(0)
            await self.mayhem.admit(index)
            self.taken += 1
            await asyncio.sleep(0)
            self.placed += 1
            self.progressed.set()

    async def run(self, customers: int) -> None:
        orders = list(range(self.total))
        async with asyncio.TaskGroup() as group:
            group.create_task(
                self.mayhem.run(placed=lambda: self.placed, progressed=self.progressed)
            )
            for _ in range(customers):
                group.create_task(self.customer(orders))


async def test_every_event_begins_while_orders_are_still_to_be_taken() -> None:
    shop = Shop(total=40, events={"database restart": 3, "participant kill": 4})

    await shop.run(customers=8)

    assert shop.mayhem.done == {"database restart": 3, "participant kill": 4}
    assert len(shop.began_at) == 7
    assert all(taken < shop.total for taken in shop.began_at)
    assert shop.began_at == sorted(shop.began_at)


async def test_events_are_spread_over_the_orders() -> None:
    shop = Shop(total=100, events={"participant kill": 4})

    await shop.run(customers=1)

    # Thresholds at 20, 40, 60 and 80 placed orders; one customer takes them in order.
    assert shop.began_at == [20, 40, 60, 80]
