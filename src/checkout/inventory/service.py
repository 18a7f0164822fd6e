"""What each of the orchestrator's inventory requests gets: its first answer, for good;
and an administrator's restock, answered once per key when it carries one.

Each function is one transaction (``Database.run`` passes the connection): it decides
with the domain rules and records the answer under the request's idempotency key, or
replays the answer recorded before (:mod:`checkout.common.answers`).
"""

from __future__ import annotations

from sqlalchemy import Connection

from checkout.common.answers import Answer, KeyRules, answer_once, first_answer
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
from checkout.inventory.tables import answers


def reservation_out(reservation: domain.Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        order_id=reservation.order_id,
        status="released" if reservation.status == "released" else "reserved",
        lines=[LineOut(product_id=x.product_id, quantity=x.quantity) for x in reservation.lines],
    )


@first_answer(answers, operation="reserve")
def reserve(connection: Connection, request: ReserveRequest, key: str, rules: KeyRules) -> Answer:
    reservation = domain.reserve(
        connection,
        order_id=str(request.order_id),
        lines=[domain.Line(line.product_id, line.quantity) for line in request.lines],
        idempotency_key=key,
        check_idempotency=rules.idempotent,
    )
    return Answer(201, reservation_out(reservation).model_dump(mode="json"))


@first_answer(answers, operation="release")
def release(connection: Connection, request: ReleaseRequest, key: str, rules: KeyRules) -> Answer:
    outcome = domain.release(connection, order_id=str(request.order_id), idempotency_key=key)
    status = "released" if outcome.status == "released" else "nothing_to_release"
    return Answer(200, ReleaseOut(order_id=outcome.order_id, status=status).model_dump())


def restock(
    connection: Connection, request: RestockRequest, *, product_id: str, key: str | None
) -> Answer:
    """Add the units; the product's new level.

    Without a key a lost answer leaves the caller unsure whether the units were added.
    With one, a retry gets the first answer and adds nothing: the key is honoured
    whatever the test-only ``KeyRules``, so a run that restocks can count what it added.
    The product is part of the operation, so a key reused for another product is refused.
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
    )
