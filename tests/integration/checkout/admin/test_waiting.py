"""A saga whose participant is down waits, visibly, and resumes when it is back.

Between attempts the saga is neither failing nor stuck: the admin API, the dashboard's
counts and the metrics show it as waiting on the step it retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from checkout.orders.saga import FORWARD_ATTEMPTS
from tests.conftest import DatabaseFactory
from tests.integration.checkout.admin.conftest import Orders, orders_service
from tests.integration.checkout.conftest import ADMIN


@pytest.fixture
async def patient(make_database_url: DatabaseFactory) -> AsyncIterator[Orders]:
    """The order service with its real patience for a forward step."""
    url = await make_database_url("orders")
    async with orders_service(url, forward_max_attempts=FORWARD_ATTEMPTS) as service:
        yield service


async def eventually(check: Callable[[], Any], *, within: float = 60) -> Any:
    """Poll ``check`` (async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while not (found := await check()):
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.1)
    return found


async def test_a_saga_waiting_on_a_participant_that_is_down_shows_as_waiting_then_completes(
    patient: Orders,
) -> None:
    patient.participants.answers["shipping/shipments"] = 503
    saga_id = await patient.place()

    async def seen_waiting_everywhere() -> tuple[Any, ...] | None:
        # Between two attempts the saga waits; during one (however short) it does not.
        # So every view is read in one pass, and the pass counts only if all of them
        # caught the same wait: a busy machine may stretch an attempt over some reads.
        counts = (await patient.client.get("/admin/counts", headers=ADMIN)).json()
        summary = await patient.saga(saga_id)
        listed = await patient.client.get("/admin/sagas", params={"waiting": "true"}, headers=ADMIN)
        metrics = (await patient.client.get("/metrics")).text
        later = await patient.saga(saga_id)
        caught = (
            counts["waiting"]
            and listed.json()["items"]
            and 'checkout_sagas_waiting{step="shipping"} 1.0' in metrics
            and later["waiting_until"] == summary["waiting_until"] is not None
        )
        return (counts, summary, listed.json(), metrics) if caught else None

    counts, summary, listed, metrics = await eventually(seen_waiting_everywhere)

    assert counts["waiting"] == {"shipping": 1}
    assert counts["counts"] == {"running": 1}
    assert summary["status"] == "running" and summary["step"] == "shipping"
    assert summary["waiting_until"] is not None
    assert [saga["id"] for saga in listed["items"]] == [saga_id]
    assert 'checkout_sagas_waiting{step="shipping"} 1.0' in metrics

    patient.participants.answers["shipping/shipments"] = 200
    settled = await patient.settled(saga_id, seconds=60)

    assert settled["status"] == "completed"
    assert settled["waiting_until"] is None
    counts = (await patient.client.get("/admin/counts", headers=ADMIN)).json()
    assert counts["waiting"] == {}
    assert (
        'checkout_sagas_waiting{step="shipping"} 0.0' in (await patient.client.get("/metrics")).text
    )
