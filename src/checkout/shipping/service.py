"""What each of the orchestrator's shipping requests gets: its first answer, for good.

Each function is one transaction (``Database.run`` passes the connection): the
participants' protocol (:class:`checkout.common.effects.EffectLedger`) replays the
answer recorded under the request's key, or has the shipping rules decide and records
their answer.
"""

from __future__ import annotations

from sqlalchemy import Connection

from checkout.common.answers import SAFE, Answer, KeyRules
from checkout.common.effects import EffectLedger
from checkout.common.key_expiry import UNTIMED, KeyTimes
from checkout.shipping import domain
from checkout.shipping.schemas import CancelOut, CancelRequest, ShipmentOut, ShipRequest
from checkout.shipping.tables import answers, compensated_orders, shipments

LEDGER = EffectLedger(
    effects=shipments,
    answers=answers,
    tombstones=compensated_orders,
    already_applied=domain.already_shipped,
)


def shipment_out(shipment: domain.Shipment) -> ShipmentOut:
    status = "cancelled" if shipment.status == "cancelled" else "created"
    return ShipmentOut(id=shipment.id, order_id=shipment.order_id, status=status)


def create_shipment(
    connection: Connection,
    request: ShipRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    def apply(connection: Connection, effect_key: str) -> Answer:
        shipment = domain.create_shipment(
            connection,
            order_id=str(request.order_id),
            address=domain.Address(**request.address.model_dump()),
            idempotency_key=effect_key,
        )
        return Answer(201, shipment_out(shipment).model_dump(mode="json"))

    return LEDGER.apply_once(
        connection,
        key=key,
        order_id=str(request.order_id),
        operation="ship",
        request=request,
        apply=apply,
        rules=rules,
        times=times,
    )


def cancel_shipment(
    connection: Connection,
    request: CancelRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    order_id = str(request.order_id)

    def undo(connection: Connection) -> Answer:
        outcome = domain.cancel_shipment(connection, order_id=order_id, idempotency_key=key)
        return _cancel_answer(outcome)

    return LEDGER.undo_once(
        connection,
        key=key,
        order_id=order_id,
        operation="cancel",
        request=request,
        undo=undo,
        nothing_to_undo=_cancel_answer(domain.CancelOutcome(order_id, "nothing_to_cancel")),
        rules=rules,
        times=times,
    )


def _cancel_answer(outcome: domain.CancelOutcome) -> Answer:
    status = "cancelled" if outcome.status == "cancelled" else "nothing_to_cancel"
    return Answer(200, CancelOut(order_id=outcome.order_id, status=status).model_dump())
