"""What each of the orchestrator's inventory requests gets: its first answer, for good;
and an administrator's restock, answered once per key when it carries one.

Each function is one transaction (``Database.run`` passes the connection): the
participants' protocol (:class:`checkout.common.effects.EffectLedger`) replays the
answer recorded under the request's key, or has the stock rules decide and records
their answer.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from checkout.common.answers import SAFE, Answer, KeyRules, answer_once
from checkout.common.effects import EffectLedger
from checkout.common.key_expiry import UNTIMED, KeyTimes
from checkout.inventory import domain
from checkout.inventory.schemas import (
    LineOut,
    ProductOut,
    ReleaseOut,
    ReleaseRequest,
    ReservationOut,
    ReserveRequest,
    RestockRequest,
)
from checkout.inventory.tables import answers, compensated_orders, reservations

LEDGER = EffectLedger(
    effects=reservations,
    answers=answers,
    tombstones=compensated_orders,
    already_applied=domain.already_reserved,
)


def reservation_out(reservation: domain.Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        order_id=reservation.order_id,
        status="released" if reservation.status == "released" else "reserved",
        lines=[LineOut(product_id=x.product_id, quantity=x.quantity) for x in reservation.lines],
    )


def reserve(
    connection: Connection,
    request: ReserveRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    def apply(connection: Connection, effect_key: str) -> Answer:
        reservation = domain.reserve(
            connection,
            order_id=str(request.order_id),
            lines=[domain.Line(line.product_id, line.quantity) for line in request.lines],
            idempotency_key=effect_key,
        )
        return Answer(201, reservation_out(reservation).model_dump(mode="json"))

    return LEDGER.apply_once(
        connection,
        key=key,
        order_id=str(request.order_id),
        operation="reserve",
        request=request,
        apply=apply,
        rules=rules,
        times=times,
    )


def release(
    connection: Connection,
    request: ReleaseRequest,
    *,
    key: str,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    order_id = str(request.order_id)

    def undo(connection: Connection) -> Answer:
        outcome = domain.release(connection, order_id=order_id, idempotency_key=key)
        return _release_answer(outcome)

    return LEDGER.undo_once(
        connection,
        key=key,
        order_id=order_id,
        operation="release",
        request=request,
        undo=undo,
        nothing_to_undo=_release_answer(domain.ReleaseOutcome(order_id, "nothing_to_release")),
        rules=rules,
        times=times,
    )


def _release_answer(outcome: domain.ReleaseOutcome) -> Answer:
    status = "released" if outcome.status == "released" else "nothing_to_release"
    return Answer(200, ReleaseOut(order_id=outcome.order_id, status=status).model_dump())


def restock(
    connection: Connection,
    request: RestockRequest,
    *,
    product_id: str,
    key: str | None,
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
) -> Answer:
    """Add the units; the product's new level.

    Without a key a lost answer leaves the caller unsure whether the units were added.
    With one, a retry gets the first answer and adds nothing: the key is honoured
    whatever the test-only switches of ``rules`` (only its retention and clock count),
    so a run that restocks can count what it added. The product is part of the
    operation, so a key reused for another product is refused. ``times`` are ignored
    without a key: nothing is recorded that could expire.
    """

    def decide(connection: Connection) -> Answer:
        level = domain.restock(connection, product_id=product_id, quantity=request.quantity)
        return Answer(200, ProductOut(product_id=product_id, available=level).model_dump())

    if key is None:
        return decide(connection)
    return answer_once(
        connection,
        answers,
        key=key,
        operation=f"restock {product_id}",
        request=request,
        decide=decide,
        rules=replace(rules, idempotent=True, remember_refusals=True),
        times=times,
    )
