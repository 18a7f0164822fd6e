"""Trace context, JSON logs and the timeline layout, without a server."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from checkout.observability.logs import JsonFormatter
from checkout.observability.tracing import (
    child_traceparent,
    current_traceparent,
    parse,
    trace_id_of,
)
from sagakit.admin.schemas import AttemptOut, EventOut, SagaDetail
from sagakit.admin.timeline import LABEL_WIDTH, layout_timeline

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_child_span_keeps_the_trace_and_gets_a_new_span_id() -> None:
    child = child_traceparent(PARENT)

    assert trace_id_of(child) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.split("-")[2] != PARENT.split("-")[2]
    assert child.endswith("-01")


def test_a_missing_or_malformed_parent_starts_a_new_trace() -> None:
    assert parse("garbage") is None
    assert trace_id_of(child_traceparent(None)) != trace_id_of(child_traceparent(None))
    assert parse(child_traceparent("00-zz-zz-01")) is not None


def test_json_logs_carry_the_saga_order_step_attempt_and_trace() -> None:
    record = logging.LogRecord("sagakit", logging.INFO, __file__, 1, "attempt %d", (2,), None)
    record.__dict__.update(saga_id="s-1", step="payment", direction="forward", attempt=2)
    token = current_traceparent.set(PARENT)
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        current_traceparent.reset(token)

    assert entry["message"] == "attempt 2"
    assert entry["saga_id"] == entry["order_id"] == "s-1"
    assert (entry["step"], entry["direction"], entry["attempt"]) == ("payment", "forward", 2)
    assert entry["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def attempt(
    step: str, direction: str, number: int, start: float, end: float, status: str
) -> AttemptOut:
    return AttemptOut(
        step=step,
        direction=direction,
        attempt=number,
        status=status,
        started_at=T0 + timedelta(seconds=start),
        finished_at=T0 + timedelta(seconds=end),
        duration_seconds=end - start,
        error=None if status == "succeeded" else "boom",
        idempotency_key=f"s:{step}:{direction}",
    )


def detail(attempts: list[AttemptOut], events: list[EventOut]) -> SagaDetail:
    return SagaDetail(
        id="s",
        name="checkout",
        version=1,
        status="compensated",
        subject="c",
        step=None,
        attempt=0,
        failure=None,
        compensation_failure=None,
        created_at=T0,
        updated_at=T0,
        steps=["payment", "inventory", "shipping"],
        input={},
        results={},
        deadline_at=None,
        attempts=attempts,
        events=events,
    )


def test_the_timeline_puts_compensations_below_in_reverse_order_with_retries_on_one_row() -> None:
    saga = detail(
        [
            attempt("payment", "forward", 1, 0, 1, "succeeded"),
            attempt("inventory", "forward", 1, 1, 2, "succeeded"),
            attempt("shipping", "forward", 1, 2, 3, "rejected"),
            attempt("inventory", "compensate", 1, 3, 4, "succeeded"),
            attempt("payment", "compensate", 1, 4, 5, "failed"),
            attempt("payment", "compensate", 2, 6, 8, "succeeded"),
        ],
        [EventOut(kind="retry", actor="alice", at=T0 + timedelta(seconds=6), detail=None)],
    )

    timeline = layout_timeline(saga, now=T0 + timedelta(seconds=10))

    assert [row.label for row in timeline.rows] == [
        "payment",
        "inventory",
        "shipping",
        "undo inventory",
        "undo payment",
    ]
    refunds = timeline.rows[-1].bars
    assert [bar.attempt for bar in refunds] == [1, 2]
    assert refunds[0].x < refunds[1].x
    assert timeline.rows[0].bars[0].x == LABEL_WIDTH
    assert timeline.markers[0].label == "retry by alice"
    assert timeline.rows[0].bars[0].x < timeline.markers[0].x < refunds[1].x + refunds[1].width
