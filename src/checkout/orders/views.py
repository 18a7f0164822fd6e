"""An order as its API shows it: the order, its status, and its saga's history.

An order's status is its saga's, but for one moment the customer must know about: the
payment step waiting for the card holder's answer is ``awaiting_confirmation``, with
the challenge to answer and until when (``next_action``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from checkout.orders.repository import Order
from checkout.orders.saga import challenge_of
from checkout.orders.schemas import (
    Address,
    AttemptsOut,
    FailureOut,
    NextActionOut,
    OrderItemOut,
    OrderOut,
    OrderStatus,
    SagaOut,
    StepOut,
)
from sagakit import AttemptRecord, Direction, Failure, Saga, SagaState, SagaStatus

ORDER_STATUS: dict[SagaStatus, OrderStatus] = {
    SagaStatus.RUNNING: "pending",
    SagaStatus.COMPENSATING: "pending",
    SagaStatus.COMPLETED: "completed",
    SagaStatus.COMPENSATED: "cancelled",
    SagaStatus.FAILED: "failed",
}


def waits_for_holder(state: SagaState) -> bool:
    """Whether the saga waits for the card holder's answer (the checkout waits for
    nothing else)."""
    return state.status is SagaStatus.RUNNING and state.wait_until is not None


def order_status(state: SagaState, *, answered: bool = False) -> OrderStatus:
    """``answered``: the holder's answer is in, and the saga is about to act on it."""
    if waits_for_holder(state) and not answered:
        return "awaiting_confirmation"
    return ORDER_STATUS[state.status]


def order_view(
    order: Order,
    saga: Saga,
    state: SagaState,
    history: Sequence[AttemptRecord],
    *,
    answered: bool = False,
) -> OrderOut:
    status = order_status(state, answered=answered)
    return OrderOut(
        **_order_fields(order),
        status=status,
        failure=_failure(state.failure) if state.status is not SagaStatus.COMPLETED else None,
        compensation_failure=_failure(state.compensation_failure),
        next_action=_next_action(state) if status == "awaiting_confirmation" else None,
        saga=SagaOut(
            id=state.id,
            status=state.status.value,
            steps=[_step(step.name, history) for step in saga.steps],
        ),
    )


def pruned_order_view(order: Order) -> OrderOut:
    """An order whose finished saga's history was pruned: its kept outcome, no steps."""
    assert order.outcome is not None
    status = SagaStatus(order.outcome.status)
    failure = Failure.from_json(order.outcome.failure)
    return OrderOut(
        **_order_fields(order),
        status=ORDER_STATUS[status],
        failure=_failure(failure) if status is not SagaStatus.COMPLETED else None,
        compensation_failure=None,
        next_action=None,
        saga=SagaOut(id=order.id, status=status.value, steps=[], history="pruned"),
    )


def _order_fields(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "total": order.total,
        "payment_method": order.payment_method,
        "items": [
            OrderItemOut(product_id=i.product_id, name=i.name, price=i.price, quantity=i.quantity)
            for i in order.items
        ],
        "shipping_address": Address.model_validate(order.shipping_address),
        "created_at": _utc(order.created_at),
    }


def _next_action(state: SagaState) -> NextActionOut | None:
    challenge = challenge_of(state.results.get("payment"))
    confirm_by = _time(state.wait_until)
    if challenge is None or confirm_by is None:
        return None
    return NextActionOut(type="confirm_payment", challenge_id=challenge, confirm_by=confirm_by)


def _step(name: str, history: Sequence[AttemptRecord]) -> StepOut:
    forward = [a for a in history if a.step == name and a.direction is Direction.FORWARD]
    backward = [a for a in history if a.step == name and a.direction is Direction.COMPENSATE]
    return StepOut(
        name=name,
        **_attempts(forward).model_dump(),
        compensation=_attempts(backward) if backward else None,
    )


def _attempts(attempts: Sequence[AttemptRecord]) -> AttemptsOut:
    if not attempts:
        return AttemptsOut(
            status="pending", attempts=0, last_error=None, started_at=None, finished_at=None
        )
    last = attempts[-1]
    errors = [a.error for a in attempts if a.error]
    return AttemptsOut(
        status=last.status.value,
        attempts=len(attempts),
        last_error=errors[-1] if errors else None,
        started_at=_time(attempts[0].started_at),
        finished_at=_time(last.finished_at),
    )


def _failure(failure: Failure | None) -> FailureOut | None:
    if failure is None:
        return None
    return FailureOut(step=failure.step, code=failure.code, reason=failure.error)


def _utc(moment: datetime) -> datetime:
    """SQLite keeps no time zone; every time stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
