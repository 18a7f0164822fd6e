"""What each of the orchestrator's shipping requests gets: its first answer, for good.

Each function is one transaction (``Database.run`` passes the connection): it decides
with the domain rules and records the answer under the request's idempotency key, or
replays the answer recorded before (:mod:`checkout.common.answers`).
"""

from __future__ import annotations

from sqlalchemy import Connection

from checkout.common.answers import Answer, KeyRules, first_answer
from checkout.shipping import domain
from checkout.shipping.schemas import CancelOut, CancelRequest, ShipmentOut, ShipRequest
from checkout.shipping.tables import answers


def shipment_out(shipment: domain.Shipment) -> ShipmentOut:
    status = "cancelled" if shipment.status == "cancelled" else "created"
    return ShipmentOut(id=shipment.id, order_id=shipment.order_id, status=status)


@first_answer(answers, operation="ship")
def create_shipment(
    connection: Connection, request: ShipRequest, key: str, rules: KeyRules
) -> Answer:
    shipment = domain.create_shipment(
        connection,
        order_id=str(request.order_id),
        address=domain.Address(**request.address.model_dump()),
        idempotency_key=key,
        check_idempotency=rules.idempotent,
    )
    return Answer(201, shipment_out(shipment).model_dump(mode="json"))


@first_answer(answers, operation="cancel")
def cancel_shipment(
    connection: Connection, request: CancelRequest, key: str, rules: KeyRules
) -> Answer:
    outcome = domain.cancel_shipment(
        connection, order_id=str(request.order_id), idempotency_key=key
    )
    status = "cancelled" if outcome.status == "cancelled" else "nothing_to_cancel"
    return Answer(200, CancelOut(order_id=outcome.order_id, status=status).model_dump())
