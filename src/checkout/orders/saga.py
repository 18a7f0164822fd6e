"""The checkout, as the saga engine sees it: pay, reserve the goods, ship.

If a step fails for good, the steps before it are undone in reverse: the shipment
cancelled, the reservation released, the payment refunded.
"""

from __future__ import annotations

from datetime import timedelta

from checkout.orders.participants import Participants
from sagakit import JSON, Action, RetryPolicy, Saga, Step, StepContext

STEP_TIMEOUT = timedelta(seconds=5)
"""The longest one attempt of a step may take. The participant client's own timeout
(``ORDERS_CALL_TIMEOUT_SECONDS``, at most this) usually ends a slow call first; this
bound also covers the time spent waiting for a pooled connection."""
FORWARD_ATTEMPTS = 12
COMPENSATION_ATTEMPTS = 80
FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=FORWARD_ATTEMPTS,
)
"""About two minutes of retries (backing off from 0.1 s to 30 s) before a step's outcome
is called unknown and the order cancelled: a participant that restarts or is redeployed
keeps its orders; one that stays down longer cancels them, rather than keep customers
waiting with their money taken."""
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=COMPENSATION_ATTEMPTS,
)
"""About an hour of retries (backing off to once a minute) before a compensation gives up
and the saga ends ``failed`` for an operator. Undoing is not optional: a refund or a
release must happen however long the participant is away, and a redeploy, a database
failover or a network partition take minutes, not seconds. Past an hour the outage needs
a human anyway, who sees the saga on the dashboard and retries it when it is over.
Waiting costs nothing: a saga backing off for longer than half its lease is parked,
holding no task, connection or lease, and any process picks it up when it is due."""


async def charge(context: StepContext[Participants]) -> JSON:
    return await context.deps.charge(context)


async def refund(context: StepContext[Participants]) -> JSON:
    return await context.deps.refund(context)


async def reserve(context: StepContext[Participants]) -> JSON:
    return await context.deps.reserve(context)


async def release(context: StepContext[Participants]) -> JSON:
    return await context.deps.release(context)


async def ship(context: StepContext[Participants]) -> JSON:
    return await context.deps.ship(context)


async def cancel_shipment(context: StepContext[Participants]) -> JSON:
    return await context.deps.cancel_shipment(context)


def _step(name: str, action: Action, compensation: Action) -> Step:
    return Step(
        name,
        action=action,
        compensation=compensation,
        retry=FORWARD_RETRY,
        compensation_retry=COMPENSATION_RETRY,
        timeout=STEP_TIMEOUT,
    )


CHECKOUT = Saga(
    name="checkout",
    version=1,
    steps=(
        _step("payment", charge, refund),
        _step("inventory", reserve, release),
        _step("shipping", ship, cancel_shipment),
    ),
)
"""Version 1 of the checkout, the same in every process: the participants it calls
reach its actions as ``context.deps`` (``SagaEngine(deps=Participants(...))``). Change
the steps only under a new version number: sagas in flight finish on the version they
started on."""
