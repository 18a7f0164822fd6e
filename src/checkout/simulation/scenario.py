"""The checkout under simulation: the real saga, the real participants, a hostile day.

The workload mixes every business outcome (orders that complete, declined cards,
unknown products, undeliverable addresses) with a product whose stock is scarce and
restocked during the run, and operators aborting orders; the books are then judged by
the chaos run's rules (:mod:`checkout.books`).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from checkout.books import (
    Ledger,
    OrderBook,
    judge,
    read_inventory,
    read_payments,
    read_shipments,
)
from checkout.common.answers import KeyRules
from checkout.inventory import domain as stock
from checkout.orders.participants import ParticipantClients, Participants
from checkout.orders.saga import CHECKOUT, CONFIRMATION_EVENT
from checkout.payment import domain as payment_domain
from checkout.simulation.participants import ServiceModel, checkout_participants
from sagakit import Saga, SagaState, SagaStatus
from sagakit.http.transport_client import TransportParticipantClient
from sagakit.simulation import (
    Abort,
    Change,
    Event,
    Participant,
    Prepared,
    Request,
    Send,
    SimulatedTransport,
    Start,
    World,
)

CALL_TIMEOUT = timedelta(seconds=2)
PLENTIFUL = ("widget", "gadget", "gizmo")
SCARCE = "scarce"
ADDRESS = {
    "street": "1 Simulated Way",
    "city": "Seedville",
    "state": "ST",
    "postal_code": "00000",
    "country": "Country",
}
CONFIRMATION_TIMEOUT = timedelta(seconds=20)
"""How long a card_3ds order waits for its holder here: answers land before, around and
after it."""
SIMULATED_KEYS = KeyRules(key_retention=timedelta(seconds=50), clock_skew=timedelta(seconds=1))
"""The participants forget keys 50 s after they were issued, and accept them for 48 s:
shorter than sagas that retry, answers held back by the network and operators' retries
after healing, so every seed has requests that come after their key could be gone."""
ORDER_DEADLINE = timedelta(seconds=40)
"""Shorter than keys are accepted, as the order service's settings require, and longer
than the confirmation timeout."""
HOLDERS = {
    "3ds_confirm": (("confirmed", (0.0, 15.0)),),
    "3ds_decline": (("declined", (0.0, 15.0)),),
    "3ds_twice": (("confirmed", (0.0, 15.0)), ("confirmed", (0.0, 15.0))),
    "3ds_conflict": (("confirmed", (0.0, 15.0)), ("declined", (0.0, 15.0))),
    "3ds_late": (("confirmed", (18.0, 40.0)),),
    "3ds_never": (),
}
"""What each kind of card holder answers, and when (seconds after the order is placed)."""
KINDS = (
    ["ok"] * 8
    + ["scarce"] * 6
    + ["declined"] * 2
    + ["undeliverable"] * 2
    + ["unknown_product"] * 1
    + ["too_many"] * 1
    + list(HOLDERS)
)


@dataclass(frozen=True)
class PlannedOrder:
    id: str
    kind: str
    total: Decimal
    lines: tuple[tuple[str, int], ...]
    input: Mapping[str, Any]


class CheckoutScenario:
    """One run's checkout. ``rules`` (on the virtual clock here) weakens the
    participants for negative controls."""

    def __init__(self, world: World, *, rules: KeyRules = SIMULATED_KEYS) -> None:
        self._world = world
        self._services = checkout_participants(replace(rules, now=world.trace.clock))
        self._stock_received: Counter[str] = Counter()
        self._orders: dict[str, PlannedOrder] = {}
        clients = ParticipantClients(
            payment=self._client("payment"),
            inventory=self._client("inventory"),
            shipping=self._client("shipping"),
        )
        self._participants = Participants(
            clients=clients,
            token="simulated",
            confirmation_timeout=CONFIRMATION_TIMEOUT,
            order_deadline=ORDER_DEADLINE,
        )
        self._told: dict[str, list[tuple[str, str]]] = {}
        """Per card_3ds order: (the answer its holder gave, what its sender was told)."""

    def participants(self) -> Mapping[str, Participant]:
        return self._services

    def sagas(self) -> Sequence[Saga]:
        return [CHECKOUT]

    def deps(self) -> Participants:
        return self._participants

    def workload(self, rng: random.Random, *, duration: float) -> Sequence[Event]:
        self._stock({**dict.fromkeys(PLENTIFUL, 1000), SCARCE: rng.randint(0, 4)})
        events: list[Event] = []
        starts: list[Start] = []
        for _ in range(rng.randint(3, 12)):
            order = self._plan(rng)
            self._orders[order.id] = order
            at = rng.uniform(0, duration * 0.8)
            starts.append(Start(at=at, saga=CHECKOUT, input=order.input, saga_id=order.id))
        events += starts
        for start in starts:
            for outcome, (earliest, latest) in HOLDERS.get(self._orders[start.saga_id].kind, ()):
                events.append(
                    self._holder(start, outcome, start.at + rng.uniform(earliest, latest))
                )
        for _ in range(rng.choice((0, 1, 2, 3))):
            units = rng.randint(1, 5)
            events.append(
                Change(
                    at=rng.uniform(0, duration),
                    what=f"{SCARCE} restocked with {units} units",
                    apply=lambda units=units: self._restock(SCARCE, units),  # type: ignore[misc]
                )
            )
        for _ in range(rng.choice((0, 0, 1, 2))):
            # soon after its start, while the saga may still be running
            target = rng.choice(starts)
            events.append(Abort(at=target.at + rng.uniform(0, 5), saga_id=target.saga_id))
        return events

    def _holder(self, start: Start, outcome: str, at: float) -> Send:
        """The card holder answers the payment service, whose webhook sends the order's
        saga what it recorded (the first answer stands), as the order service would."""
        order_id = start.saga_id
        told = self._told.setdefault(order_id, [])

        def prepare() -> Prepared:
            found = self._services["payment"].read(
                lambda connection: payment_domain.list_payments(connection, order_id=order_id)
            )
            challenge = next((p.challenge_id for p in found if p.challenge_id), None)
            if challenge is None:
                return None  # not asked yet
            reply = self._services["payment"](
                Request(
                    "payment",
                    "POST /payments/confirmations",
                    {"challenge_id": challenge, "outcome": outcome},
                    key=f"holder:{challenge}:{outcome}",
                )
            )
            if reply.status != 200:
                return f"payment answered {reply.status}"
            recorded = reply.body["outcome"]
            return {"challenge_id": challenge, "outcome": recorded}, f"{challenge}:{recorded}"

        return Send(
            at=at,
            saga_id=order_id,
            event=CONFIRMATION_EVENT,
            prepare=prepare,
            answered=lambda answer: told.append((outcome, answer)),
        )

    def _holders_told_the_truth(self, sagas: Mapping[str, SagaState]) -> list[str]:
        violations = []
        for order_id, told in self._told.items():
            state = sagas.get(order_id)
            if state is None:
                continue
            kind = self._orders[order_id].kind
            recorded = {outcome for outcome, answer in told if answer == "recorded"}
            completed = state.status is SagaStatus.COMPLETED
            where = f"order {order_id} ({kind}, {state.status}): {told}"
            if completed and recorded != {"confirmed"}:
                violations.append(f"an order its holder did not confirm completed: {where}")
            if len(recorded) > 1:
                violations.append(f"two answers were recorded for one order: {where}")
        return violations

    def check(self, sagas: Mapping[str, SagaState]) -> list[str]:
        accepted = {order_id for order_id in sagas if order_id in self._orders}
        orders = OrderBook(
            statuses={order_id: sagas[order_id].status.value for order_id in accepted},
            stuck={
                order_id: failure.to_json()
                for order_id in accepted
                if (failure := sagas[order_id].compensation_failure) is not None
            },
            totals={order_id: self._orders[order_id].total for order_id in accepted},
            items=[
                (order_id, product, quantity)
                for order_id in accepted
                for product, quantity in self._orders[order_id].lines
            ],
        )
        ledger = Ledger(
            orders=orders,
            payment=self._services["payment"].read(read_payments),
            inventory=self._services["inventory"].read(read_inventory),
            shipping=self._services["shipping"].read(read_shipments),
        )
        books = judge(ledger, stock_received=self._stock_received, accepted=accepted)
        return books.violations + self._holders_told_the_truth(sagas)

    def _client(self, name: str) -> TransportParticipantClient:
        return TransportParticipantClient(
            f"http://{name}",
            transport=SimulatedTransport(self._world.network, name),
            timeout_seconds=CALL_TIMEOUT.total_seconds(),
        )

    def _plan(self, rng: random.Random) -> PlannedOrder:
        kind = rng.choice(KINDS)
        product = {"scarce": SCARCE, "unknown_product": "no-such-product"}.get(
            kind, rng.choice(PLENTIFUL)
        )
        quantity = 2_000 if kind == "too_many" else rng.randint(1, 3)
        lines: tuple[tuple[str, int], ...] = ((product, quantity),)
        if kind == "ok" and rng.random() < 0.5:
            lines += ((rng.choice(PLENTIFUL), 1),)
        total = sum((Decimal("12.50") * q for _, q in lines), Decimal("0"))
        order_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        saga_input = {
            "order_id": order_id,
            "customer_id": f"customer-{rng.randint(1, 5)}",
            "total": f"{total:.2f}",
            "payment_method": {"declined": "declined_card"}.get(
                kind, "card_3ds" if kind in HOLDERS else "credit_card"
            ),
            "lines": [{"product_id": p, "quantity": q} for p, q in lines],
            "address": {**ADDRESS, "country": "XX" if kind == "undeliverable" else "Country"},
        }
        return PlannedOrder(order_id, kind, total, lines, saga_input)

    def _stock(self, levels: Mapping[str, int]) -> None:
        inventory: ServiceModel = self._services["inventory"]
        with inventory.database.begin() as connection:
            for product, units in levels.items():
                stock.set_available(connection, product_id=product, available=units)
                self._stock_received[product] += units

    def _restock(self, product: str, units: int) -> None:
        with self._services["inventory"].database.begin() as connection:
            stock.restock(connection, product_id=product, quantity=units)
        self._stock_received[product] += units
