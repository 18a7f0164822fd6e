"""How an order and its saga's history are shown (order_view), from hand-built values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from checkout.orders.repository import Order, OrderItem
from checkout.orders.saga import CHECKOUT
from checkout.orders.schemas import StepOut
from checkout.orders.views import order_view
from sagakit import JSON, Direction, Failure, Saga, SagaState, SagaStatus, StepContext
from sagakit.state import AttemptRecord, AttemptStatus

SAGA_ID = "saga-1"
FORWARD, BACKWARD = Direction.FORWARD, Direction.COMPENSATE
ORDER = Order(
    id="3f1c6f0e-8a52-4f0e-9a55-000000000001",
    customer_id="cust123",
    total=Decimal("35.00"),
    payment_method="credit_card",
    shipping_address={
        "street": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
    },
    items=(OrderItem(product_id="product1", name="Widget", price=Decimal("17.50"), quantity=2),),
    created_at=datetime(2024, 5, 1, 12, 0),  # naive, as SQLite returns it
)
OUT_OF_STOCK = Failure(
    step="inventory", direction=FORWARD, error="Only 1 of 'product1' left", code="rejected"
)
REFUND_GAVE_UP = Failure(
    step="payment", direction=BACKWARD, error="payment service unavailable", code="exhausted"
)


class NoParticipants:
    """Stands in for the HTTP participants: order_view only reads the saga's steps."""

    async def _never(self, _context: StepContext) -> JSON:
        raise AssertionError("order_view must not call a participant")

    charge = refund = reserve = release = ship = cancel_shipment = _never


@pytest.fixture(scope="module")
def saga() -> Saga:
    return CHECKOUT


def state(status: SagaStatus, **changes: Any) -> SagaState:
    return SagaState(id=SAGA_ID, name="checkout", version=1, status=status, input={}, **changes)


def attempt(
    step: str,
    number: int,
    status: AttemptStatus,
    *,
    direction: Direction = FORWARD,
    error: str | None = None,
    at: float = 1_700_000_000.0,
) -> AttemptRecord:
    return AttemptRecord(
        saga_id=SAGA_ID,
        step=step,
        direction=direction,
        attempt=number,
        idempotency_key=f"{SAGA_ID}:{step}:{direction.value}",
        status=status,
        started_at=at,
        finished_at=at + 0.5,
        error=error,
    )


def steps(view_steps: list[StepOut]) -> dict[str, StepOut]:
    return {step.name: step for step in view_steps}


@pytest.mark.parametrize("status", [SagaStatus.RUNNING, SagaStatus.COMPENSATING])
def test_a_saga_still_moving_shows_the_order_pending(saga: Saga, status: SagaStatus) -> None:
    view = order_view(ORDER, saga, state(status), [])

    assert (view.status, view.saga.status) == ("pending", status.value)


def test_a_completed_saga_shows_the_order_completed_without_failure(saga: Saga) -> None:
    view = order_view(ORDER, saga, state(SagaStatus.COMPLETED), [])

    assert (view.status, view.failure, view.compensation_failure) == ("completed", None, None)


def test_a_compensated_saga_shows_the_order_cancelled_with_the_failing_step(
    saga: Saga,
) -> None:
    view = order_view(ORDER, saga, state(SagaStatus.COMPENSATED, failure=OUT_OF_STOCK), [])

    assert view.status == "cancelled"
    assert view.failure is not None
    assert (view.failure.step, view.failure.code, view.failure.reason) == (
        "inventory",
        "rejected",
        "Only 1 of 'product1' left",
    )
    assert view.compensation_failure is None


def test_a_failed_saga_shows_the_order_failed_with_the_compensation_that_gave_up(
    saga: Saga,
) -> None:
    failed = state(SagaStatus.FAILED, failure=OUT_OF_STOCK, compensation_failure=REFUND_GAVE_UP)

    view = order_view(ORDER, saga, failed, [])

    assert view.status == "failed"
    assert view.failure is not None and view.failure.step == "inventory"
    assert view.compensation_failure is not None
    assert (
        view.compensation_failure.step,
        view.compensation_failure.code,
        view.compensation_failure.reason,
    ) == ("payment", "exhausted", "payment service unavailable")


def test_steps_follow_the_saga_definition_and_untried_steps_are_pending(saga: Saga) -> None:
    view = order_view(ORDER, saga, state(SagaStatus.RUNNING), [])

    assert [step.name for step in view.saga.steps] == ["payment", "inventory", "shipping"]
    assert all(step.status == "pending" and step.attempts == 0 for step in view.saga.steps)
    assert all(step.compensation is None for step in view.saga.steps)


def test_a_step_shows_its_attempt_count_and_last_error(saga: Saga) -> None:
    history = [
        attempt("payment", 1, AttemptStatus.TIMED_OUT, error="timed out", at=100.0),
        attempt("payment", 2, AttemptStatus.FAILED, error="503 from payment", at=101.0),
        attempt("payment", 3, AttemptStatus.SUCCEEDED, at=102.0),
    ]

    payment = steps(order_view(ORDER, saga, state(SagaStatus.RUNNING), history).saga.steps)[
        "payment"
    ]

    assert (payment.status, payment.attempts, payment.last_error) == (
        "succeeded",
        3,
        "503 from payment",
    )
    assert payment.started_at == datetime.fromtimestamp(100.0, UTC)
    assert payment.finished_at == datetime.fromtimestamp(102.5, UTC)


def test_compensation_is_shown_only_for_steps_with_compensation_attempts(saga: Saga) -> None:
    history = [
        attempt("payment", 1, AttemptStatus.SUCCEEDED),
        attempt("inventory", 1, AttemptStatus.REJECTED, error="out of stock"),
        attempt("payment", 1, AttemptStatus.FAILED, direction=BACKWARD, error="refund 503"),
        attempt("payment", 2, AttemptStatus.SUCCEEDED, direction=BACKWARD),
    ]

    view = order_view(ORDER, saga, state(SagaStatus.COMPENSATED, failure=OUT_OF_STOCK), history)

    shown = steps(view.saga.steps)
    assert shown["payment"].attempts == 1
    assert shown["payment"].compensation is not None
    assert (
        shown["payment"].compensation.status,
        shown["payment"].compensation.attempts,
        shown["payment"].compensation.last_error,
    ) == ("succeeded", 2, "refund 503")
    assert shown["inventory"].compensation is None
    assert shown["shipping"].compensation is None


def test_order_times_without_a_zone_are_shown_as_utc(saga: Saga) -> None:
    view = order_view(ORDER, saga, state(SagaStatus.COMPLETED), [])

    assert view.created_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


CHALLENGED = {"id": "pay-1", "status": "requires_confirmation", "challenge": {"id": "ch-1"}}


def test_a_saga_waiting_for_the_card_holder_shows_what_the_customer_must_do(saga: Saga) -> None:
    waiting = state(SagaStatus.RUNNING, results={"payment": CHALLENGED}, wait_until=1_700_000_900.0)

    view = order_view(ORDER, saga, waiting, [])

    assert view.status == "awaiting_confirmation"
    assert view.next_action is not None
    assert (view.next_action.type, view.next_action.challenge_id) == ("confirm_payment", "ch-1")
    assert view.next_action.confirm_by == datetime.fromtimestamp(1_700_000_900.0, UTC)


def test_once_the_holder_answered_the_waiting_order_is_pending_again(saga: Saga) -> None:
    waiting = state(SagaStatus.RUNNING, results={"payment": CHALLENGED}, wait_until=1_700_000_900.0)

    view = order_view(ORDER, saga, waiting, [], answered=True)

    assert (view.status, view.next_action) == ("pending", None)


def test_no_answer_in_time_shows_the_order_cancelled_at_payment(saga: Saga) -> None:
    timed_out = Failure(
        step="payment", direction=FORWARD, error="no answer in time", code="event_timeout"
    )

    view = order_view(ORDER, saga, state(SagaStatus.COMPENSATED, failure=timed_out), [])

    assert (view.status, view.next_action) == ("cancelled", None)
    assert view.failure is not None
    assert (view.failure.step, view.failure.code) == ("payment", "event_timeout")
