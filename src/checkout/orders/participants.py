"""The order saga's calls to the payment, inventory and shipping services.

Each method is a step action: it receives the saga's context and returns the
participant's JSON answer, which the engine records. Errors follow
``sagakit.http``: refusals compensate, everything else is retried.

Each participant has its own client (``sagakit.http.aiohttp_client``: pooled, no
cookies, no redirects followed), sized to what one service should take: a slow
participant then only queues its own calls.

Every call carries a W3C ``traceparent`` in the trace of the request that placed the
order (kept in the saga's input, so a saga resumed elsewhere stays in its trace).

Outside the saga, a customer's answer to a payment's challenge is relayed to the
payment service here too (:meth:`Participants.confirm_payment`), on the same client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from checkout.observability.tracing import TRACEPARENT, child_traceparent, current_traceparent
from sagakit import JSON, StepContext
from sagakit.http import IDEMPOTENCY_HEADER, ParticipantCaller, interpret, json_bytes, post_step

CONFIRMATION_TIMEOUT = timedelta(minutes=15)
ORDER_DEADLINE = timedelta(hours=1)
"""How long the payment step waits for a card holder's answer, unless told otherwise."""


@dataclass(frozen=True, kw_only=True)
class ParticipantClients:
    payment: ParticipantCaller
    inventory: ParticipantCaller
    shipping: ParticipantCaller

    async def aclose(self) -> None:
        for client in (self.payment, self.inventory, self.shipping):
            await client.aclose()


class Participants:
    def __init__(
        self,
        *,
        clients: ParticipantClients,
        token: str,
        confirmation_timeout: timedelta = CONFIRMATION_TIMEOUT,
        order_deadline: timedelta = ORDER_DEADLINE,
    ) -> None:
        self._clients = clients
        self._headers = {"Authorization": f"Bearer {token}"}
        self.confirmation_timeout = confirmation_timeout
        """How long the payment step waits for a card holder's answer (read by the
        checkout when its wait begins)."""
        self.order_deadline = order_deadline
        """How long an order may take to complete (read when it is placed): past it,
        the order is cancelled and what it holds (stock, money) is given back."""

    async def charge(self, context: StepContext) -> JSON:
        order = context.input
        return await self._post(
            self._clients.payment,
            "/payments",
            context,
            {
                "order_id": order["order_id"],
                "customer_id": order["customer_id"],
                "amount": order["total"],
                "payment_method": order["payment_method"],
            },
        )

    async def refund(self, context: StepContext) -> JSON:
        order = context.input
        return await self._post(
            self._clients.payment,
            "/payments/refunds",
            context,
            {"order_id": order["order_id"], "amount": order["total"]},
        )

    async def reserve(self, context: StepContext) -> JSON:
        order = context.input
        return await self._post(
            self._clients.inventory,
            "/reservations",
            context,
            {"order_id": order["order_id"], "lines": order["lines"]},
        )

    async def release(self, context: StepContext) -> JSON:
        return await self._post(
            self._clients.inventory,
            "/reservations/release",
            context,
            {"order_id": context.input["order_id"]},
        )

    async def ship(self, context: StepContext) -> JSON:
        order = context.input
        return await self._post(
            self._clients.shipping,
            "/shipments",
            context,
            {"order_id": order["order_id"], "address": order["address"]},
        )

    async def cancel_shipment(self, context: StepContext) -> JSON:
        return await self._post(
            self._clients.shipping,
            "/shipments/cancel",
            context,
            {"order_id": context.input["order_id"]},
        )

    async def confirm_payment(self, *, challenge_id: str, outcome: str) -> JSON:
        """Relay a card holder's answer to the payment service, which keeps the first one
        a challenge gets: its answer, or ``TransientError`` (no answer: send it again) or
        ``StepRejected`` (refused) as ``sagakit.http`` reads it. The key is the answer
        itself, so sending it again is safe."""
        path = "/payments/confirmations"
        headers = {
            **self._headers,
            TRACEPARENT: child_traceparent(current_traceparent.get()),
            IDEMPOTENCY_HEADER: f"{challenge_id}:{outcome}",
        }
        body = json_bytes({"challenge_id": challenge_id, "outcome": outcome})
        answer = await self._clients.payment.post(path, body=body, headers=headers)
        return interpret(answer, where=f"POST {self._clients.payment.base_url}{path}")

    async def _post(
        self, client: ParticipantCaller, path: str, context: StepContext, body: JSON
    ) -> JSON:
        parent = context.input.get(TRACEPARENT)
        trace = child_traceparent(parent if isinstance(parent, str) else current_traceparent.get())
        headers = {**self._headers, TRACEPARENT: trace}
        answer = await post_step(client, path, context=context, json=body, headers=headers)
        return kept_of(answer)


KEPT = ("id", "status", "challenge")
"""What the saga keeps of a participant's answer: the effect's id and status, and a
payment's challenge. The rest (the order id, amounts, lines) the order already holds,
and the saga's row would carry it to no one until the history is pruned."""


def kept_of(answer: JSON) -> JSON:
    if not isinstance(answer, dict):
        return answer
    return {name: answer[name] for name in KEPT if answer.get(name) is not None}
