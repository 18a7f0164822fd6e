"""A card holder's answer to the payment's challenge, on its way to the order's saga.

The payment service keeps the first answer a challenge gets (a confirmation captures
the money; once the order has voided the payment no answer is taken); the saga keeps
the first event it is sent. Two ways lead from one to the other:

- the customer answers the order service (``POST /orders/{id}/confirmation``), which
  relays the answer to the payment service and sends the saga what it recorded;
- the payment service tells the order service of every answer it records
  (``POST /payment-events``, its webhook), delivered until it is taken or refused: it
  reaches a saga whose order service stopped before sending it the customer's answer.

Both send the same event under the same key (the challenge and its answer), so the
second is a duplicate, and either may be repeated. An answer that comes after the saga
stopped waiting is refused (409) and moves no money: a confirmation captured in the
moment the wait timed out is given back by the cancelled order's refund.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from checkout.orders.saga import CONFIRMATION_EVENT, challenge_of
from checkout.orders.schemas import ConfirmationRequest, OrderOut, PaymentEvent
from checkout.orders.service import OrderNotFound, OrderService
from checkout.orders.views import waits_for_holder
from sagakit import (
    JSON,
    Alongside,
    EventRefused,
    SagaEngine,
    SagaNotFound,
    SagaState,
    SignalKind,
    SqlSagaStore,
    StepRejected,
    TransientError,
)

PAYMENT_REFUSALS = {
    "challenge_answered": "This challenge was already answered; the first answer is final.",
    "payment_voided": "The order stopped waiting for this confirmation; nothing was charged.",
    "challenge_not_found": "The payment service knows no such challenge.",
}


class ConfirmationRefused(Exception):
    """The answer cannot be taken (409); ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class PaymentUnavailable(Exception):
    """The payment service did not answer: the same answer may be sent again."""


class PaymentConfirmer(Protocol):
    async def confirm_payment(self, *, challenge_id: str, outcome: str) -> JSON: ...


@dataclass(frozen=True)
class Delivered:
    order_id: str
    recorded: bool
    """False when the saga had this answer already."""


class Confirmations:
    def __init__(
        self,
        *,
        orders: OrderService,
        engine: SagaEngine[Alongside],
        store: SqlSagaStore,
        payment: PaymentConfirmer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._orders, self._engine, self._store, self._payment = orders, engine, store, payment
        self._clock = clock

    async def confirm(
        self,
        order_id: str,
        request: ConfirmationRequest,
        *,
        customer_id: str | None,
        wait_seconds: float = 0,
    ) -> OrderOut:
        """The customer's answer: relayed to the payment service while the order waits
        for it, then sent to the saga; the order as it is then (or, with
        ``wait_seconds``, once it settles). The same answer again is taken again."""
        await self._orders.owned(order_id, customer_id=customer_id)
        state = await self._state(order_id)
        challenge = str(request.challenge_id)
        if await self._still_asking(state):
            _check_challenge(state, challenge)
            outcome = await self._relay(challenge, request.outcome)
            await self._deliver(order_id, challenge, outcome, sender="customer")
        else:
            await self._already_answered(order_id, challenge, request.outcome)
        return await self._orders.get(order_id, wait_seconds=wait_seconds)

    async def _still_asking(self, state: SagaState) -> bool:
        """Whether the saga waits for an answer it has not had, in time: only then is
        the answer relayed, so that none is captured for an order that gave up."""
        if not waits_for_holder(state) or state.wait_until is None:
            return False
        if self._clock() >= state.wait_until:
            return False  # its timeout is due, and will be recorded when it is claimed
        return await self._store.signal(state.id, CONFIRMATION_EVENT) is None

    async def notified(self, event: PaymentEvent) -> Delivered:
        """The payment service's notice of an answer it recorded."""
        order_id, challenge = str(event.order_id), str(event.challenge_id)
        state = await self._state(order_id)
        if challenge_of(state.results.get("payment")) is not None:
            _check_challenge(state, challenge)
        # Otherwise the charge's answer is not recorded yet: the saga keeps the event
        # for the wait, and checks the challenge then.
        recorded = await self._deliver(order_id, challenge, event.outcome, sender="payment-webhook")
        return Delivered(order_id, recorded)

    async def _state(self, order_id: str) -> SagaState:
        state = await self._store.load(order_id)
        if state is None:
            await self._orders.owned(order_id)  # OrderNotFound if there is no such order
            # Its saga finished long ago and its history was pruned.
            raise ConfirmationRefused(
                "not_awaiting_confirmation",
                "The order is not waiting for a payment confirmation.",
            )
        return state

    async def _relay(self, challenge: str, outcome: str) -> str:
        try:
            answer = await self._payment.confirm_payment(challenge_id=challenge, outcome=outcome)
        except TransientError:
            raise PaymentUnavailable from None
        except StepRejected as refused:
            message = PAYMENT_REFUSALS.get(refused.code, "The payment service refused the answer.")
            raise ConfirmationRefused(refused.code, message) from None
        recorded = answer.get("outcome") if isinstance(answer, dict) else None
        if recorded not in ("confirmed", "declined"):
            raise PaymentUnavailable  # not an answer the payment service gives
        return str(recorded)

    async def _deliver(self, order_id: str, challenge: str, outcome: str, *, sender: str) -> bool:
        """Send the saga the answer; whether this was the first time."""
        key = _key(challenge, outcome)
        answer = {"challenge_id": challenge, "outcome": outcome}
        try:
            delivery = await self._engine.send(
                order_id, CONFIRMATION_EVENT, answer, key=key, sender=sender
            )
        except SagaNotFound:
            raise OrderNotFound(order_id) from None
        except EventRefused as refused:
            # The engine refuses anything once the saga moved on, a repeat of the answer
            # it took included: that one is taken again, as a duplicate.
            await self._already_answered(order_id, challenge, outcome, refused=refused)
            return False
        return delivery.recorded

    async def _already_answered(
        self,
        order_id: str,
        challenge: str,
        outcome: str,
        *,
        refused: EventRefused | None = None,
    ) -> None:
        """Return if the saga took this very answer; refuse saying why it takes none."""
        held = await self._store.signal(order_id, CONFIRMATION_EVENT)
        if (
            held is not None
            and held.kind is SignalKind.EVENT
            and held.key == _key(challenge, outcome)
        ):
            return
        state = await self._state(order_id)
        overdue = waits_for_holder(state) and held is None  # see _still_asking
        if (
            overdue
            or (held is not None and held.kind is SignalKind.TIMEOUT)
            or (refused is not None and refused.code == "timed_out")
        ):
            raise ConfirmationRefused(
                "confirmation_timed_out",
                "The order stopped waiting for the payment's confirmation (its confirm_by "
                "passed): it is cancelled, and nothing is charged.",
            )
        if held is not None or (refused is not None and refused.code == "another_event"):
            raise ConfirmationRefused(
                "challenge_answered", "The order has another answer; the first answer is final."
            )
        raise ConfirmationRefused(
            "not_awaiting_confirmation", "The order is not waiting for a payment confirmation."
        )


def _check_challenge(state: SagaState, challenge: str) -> None:
    if challenge_of(state.results.get("payment")) != challenge:
        raise ConfirmationRefused(
            "challenge_mismatch",
            "This is not the order's challenge: answer the one its next_action names.",
        )


def _key(challenge: str, outcome: str) -> str:
    """The event's key: a repeat of one answer is a duplicate, another answer is not."""
    return f"{challenge}:{outcome}"
