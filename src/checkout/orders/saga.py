"""The checkout, as the saga engine sees it: pay, reserve the goods, ship.

If a step fails for good, the steps before it are undone in reverse: the shipment
cancelled, the reservation released, the payment refunded.

A card that asks its holder to confirm (3-D Secure) answers the charge with a
challenge: the payment step then waits for the holder's answer (the event
``payment_confirmation``, :mod:`checkout.orders.confirmations`), and a decline, or no
answer within the confirmation timeout, cancels the order; the payment, never
captured, is voided by its refund.
"""

from __future__ import annotations

from datetime import timedelta

from checkout.orders.participants import Participants
from sagakit import JSON, Action, Await, RetryPolicy, Saga, Step, StepContext, StepRejected

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


CONFIRMATION_EVENT = "payment_confirmation"
"""The card holder's answer to the payment's challenge: ``{"challenge_id", "outcome"}``
with ``outcome`` ``confirmed`` or ``declined``, as the payment service recorded it."""


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


def challenge_of(payment: JSON) -> str | None:
    """The id of the challenge a payment's holder must answer, if it has one."""
    challenge = payment.get("challenge") if isinstance(payment, dict) else None
    found = challenge.get("id") if isinstance(challenge, dict) else None
    return found if isinstance(found, str) else None


def needs_confirmation(payment: JSON) -> bool:
    """Whether the charge waits for its holder: only then does the payment step wait."""
    return isinstance(payment, dict) and payment.get("status") == "requires_confirmation"


def confirmation_timeout(context: StepContext[Participants]) -> timedelta:
    return context.deps.confirmation_timeout


def order_deadline(participants: Participants) -> timedelta:
    return participants.order_deadline


def answered(context: StepContext[Participants], answer: JSON) -> JSON:
    """The payment once its holder confirmed; a decline cancels the order."""
    if not isinstance(answer, dict) or answer.get("challenge_id") != challenge_of(context.result):
        raise StepRejected("The answer is for another challenge.", code="challenge_mismatch")
    outcome = answer.get("outcome")
    if outcome == "declined":
        raise StepRejected("The card holder declined the payment.", code="payment_declined")
    if outcome != "confirmed":
        raise StepRejected(f"Unknown answer {outcome!r}.", code="confirmation_not_understood")
    return {**context.result, "status": "captured"}


def _step(name: str, action: Action, compensation: Action, wait: Await | None = None) -> Step:
    return Step(
        name,
        action=action,
        compensation=compensation,
        retry=FORWARD_RETRY,
        compensation_retry=COMPENSATION_RETRY,
        timeout=STEP_TIMEOUT,
        wait=wait,
    )


HOLDER_ANSWERS = Await(
    event=CONFIRMATION_EVENT,
    timeout=confirmation_timeout,
    on_event=answered,
    when=needs_confirmation,
)
"""The payment step waits only for a charge that asks its holder, for as long as the
process's ``Participants.confirmation_timeout`` says when the wait begins."""

CHECKOUT = Saga(
    name="checkout",
    version=1,
    steps=(
        _step("payment", charge, refund, wait=HOLDER_ANSWERS),
        _step("inventory", reserve, release),
        _step("shipping", ship, cancel_shipment),
    ),
    # An order that cannot complete in time (a participant down for longer) is
    # cancelled: the stock it reserved and the money it took go back.
    deadline=order_deadline,
)
"""Version 1 of the checkout, the same in every process: the participants it calls
reach its actions as ``context.deps`` (``SagaEngine(deps=Participants(...))``). Change
the steps only under a new version number: sagas in flight finish on the version they
started on. (The payment's wait came without one: it waits only for a charge that asks
its holder, which no saga started before it could get.)"""
