"""The checkout, as the saga engine sees it: pay, reserve the goods, ship.

If a step fails for good, the steps before it are undone in reverse: the shipment
cancelled, the reservation released, the payment refunded.
"""

from __future__ import annotations

from datetime import timedelta

from checkout.orders.participants import Participants
from sagakit import RetryPolicy, Saga, Step

CALL_TIMEOUT = timedelta(seconds=5)
FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=6,
)
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=12,
)


def checkout_saga(
    participants: Participants,
    *,
    timeout: timedelta = CALL_TIMEOUT,
    compensation_retry: RetryPolicy = COMPENSATION_RETRY,
) -> Saga:
    """Version 1 of the checkout. Change the steps only under a new version number:
    sagas in flight finish on the version they started on."""
    return Saga(
        name="checkout",
        version=1,
        steps=(
            Step(
                "payment",
                action=participants.charge,
                compensation=participants.refund,
                retry=FORWARD_RETRY,
                compensation_retry=compensation_retry,
                timeout=timeout,
            ),
            Step(
                "inventory",
                action=participants.reserve,
                compensation=participants.release,
                retry=FORWARD_RETRY,
                compensation_retry=compensation_retry,
                timeout=timeout,
            ),
            Step(
                "shipping",
                action=participants.ship,
                compensation=participants.cancel_shipment,
                retry=FORWARD_RETRY,
                compensation_retry=compensation_retry,
                timeout=timeout,
            ),
        ),
    )
