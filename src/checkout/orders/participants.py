"""The order saga's calls to the payment, inventory and shipping services.

Each method is a step action: it receives the saga's context and returns the
participant's JSON answer, which the engine records. Errors follow
``sagakit.http``: refusals compensate, everything else is retried.

Each participant has its own client (``sagakit.http.aiohttp_client``: pooled, no
cookies, no redirects followed), sized to what one service should take: a slow
participant then only queues its own calls.

Every call carries a W3C ``traceparent`` in the trace of the request that placed the
order (kept in the saga's input, so a saga resumed elsewhere stays in its trace).
"""

from __future__ import annotations

from dataclasses import dataclass

from checkout.observability.tracing import TRACEPARENT, child_traceparent, current_traceparent
from sagakit import JSON, StepContext
from sagakit.http import ParticipantCaller, post_step


@dataclass(frozen=True, kw_only=True)
class ParticipantClients:
    payment: ParticipantCaller
    inventory: ParticipantCaller
    shipping: ParticipantCaller

    async def aclose(self) -> None:
        for client in (self.payment, self.inventory, self.shipping):
            await client.aclose()


class Participants:
    def __init__(self, *, clients: ParticipantClients, token: str) -> None:
        self._clients = clients
        self._headers = {"Authorization": f"Bearer {token}"}

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

    async def _post(
        self, client: ParticipantCaller, path: str, context: StepContext, body: JSON
    ) -> JSON:
        parent = context.input.get(TRACEPARENT)
        trace = child_traceparent(parent if isinstance(parent, str) else current_traceparent.get())
        headers = {**self._headers, TRACEPARENT: trace}
        return await post_step(client, path, context=context, json=body, headers=headers)
