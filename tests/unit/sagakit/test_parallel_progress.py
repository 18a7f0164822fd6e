"""The state machine's rules for a ``Parallel`` group, as pure functions: no store, no
executor, one rule per test."""

from __future__ import annotations

from datetime import timedelta

from sagakit import Direction, Parallel, RetryPolicy, Saga, SagaState, SagaStatus, Step
from sagakit.progress import (
    Outcome,
    OutcomeKind,
    begin_member,
    decide,
    decide_member,
    group_at,
    group_retry_at,
    member_settled,
    member_started,
    pending_members,
    stop_forward,
)
from sagakit.state import Failure, MemberProgress
from tests.support.participants import no_jitter

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=1), maximum_attempts=2
)


async def act(_context):
    return None


def step(name: str, *, compensated: bool = True) -> Step:
    return Step(name, act, act if compensated else None, retry=RETRY)


SAGA = Saga(
    "trip",
    1,
    (
        step("pay"),
        Parallel(step("hotel"), step("quote", compensated=False), step("car")),
        step("ship"),
    ),
)
LAST = Saga("trip", 2, (step("pay"), Parallel(step("hotel"), step("car"))))
OK = Outcome(kind=OutcomeKind.SUCCEEDED, result={"ok": True})
REFUSED = Outcome(kind=OutcomeKind.REJECTED, error="full", code="full")
FAILED = Outcome(kind=OutcomeKind.FAILED, error="503")
NOW = 1000.0


def at_group(*attempted: str, **results: object) -> SagaState:
    """The saga at the group, ``pay`` done, each of ``attempted`` begun once."""
    state = SagaState(
        id="s",
        name="trip",
        version=1,
        status=SagaStatus.RUNNING,
        input={},
        cursor=1,
        results={"pay": {"paid": 1}, **results},
    )
    for name in attempted:
        state = begin_member(state, name)
    return state


def decided(state: SagaState, name: str, outcome: Outcome, saga: Saga = SAGA):
    return decide_member(saga, state, name, outcome, now=NOW, uniform=no_jitter)


def test_the_cursor_rests_on_the_groups_first_member_and_names_its_span():
    state = at_group()

    assert group_at(SAGA, state) == range(1, 4)
    assert [s.name for s in pending_members(SAGA, state)] == ["hotel", "quote", "car"]
    assert group_at(SAGA, state.evolve(cursor=0)) is None


def test_beginning_a_member_counts_its_attempts_alone():
    state = begin_member(begin_member(at_group("car"), "hotel"), "hotel")

    assert state.members == {"hotel": MemberProgress(attempts=2), "car": MemberProgress(attempts=1)}
    assert state.attempt == 0


def test_a_members_success_is_kept_and_the_group_waits_for_the_others():
    decision = decided(at_group("hotel", "quote", "car"), "hotel", OK)

    assert decision.retry_after is None
    assert decision.state.cursor == 1 and decision.state.status is SagaStatus.RUNNING
    assert decision.state.results["hotel"] == {"ok": True}
    assert [s.name for s in pending_members(SAGA, decision.state)] == ["quote", "car"]


def test_the_last_members_success_moves_the_saga_past_the_group():
    state = at_group("hotel", "quote", "car", hotel=1, car=2)

    moved = decided(state, "quote", OK).state

    assert (moved.status, moved.cursor, moved.attempt, moved.members) == (
        SagaStatus.RUNNING,
        4,
        0,
        {},
    )
    assert set(moved.results) == {"pay", "hotel", "quote", "car"}


def test_a_group_at_the_end_completes_the_saga():
    state = at_group("hotel", "car", hotel=1)

    assert decided(state, "car", OK, LAST).state.status is SagaStatus.COMPLETED


def test_a_retryable_failure_backs_that_member_off_alone():
    decision = decided(at_group("hotel", "quote", "car"), "car", FAILED)

    assert decision.retry_after == timedelta(seconds=1)
    assert decision.state.members["car"] == MemberProgress(attempts=1, retry_at=NOW + 1)
    assert decision.state.members["hotel"] == MemberProgress(attempts=1)
    assert decision.state.status is SagaStatus.RUNNING


def test_a_refusal_compensates_every_started_member_from_the_last_one():
    decision = decided(at_group("hotel", "quote", "car"), "hotel", REFUSED)

    state = decision.state
    assert decision.retry_after is None
    assert (state.status, state.cursor) == (SagaStatus.COMPENSATING, 3)  # car
    assert state.failure == Failure(
        step="hotel", direction=Direction.FORWARD, error="full", code="full"
    )


def test_exhausted_retries_fail_the_group_and_the_member_is_undone_too():
    state = begin_member(at_group("hotel", "car"), "car")  # car's second attempt

    failed = decided(state, "car", FAILED).state

    assert (failed.status, failed.cursor) == (SagaStatus.COMPENSATING, 3)
    assert failed.failure is not None and failed.failure.step == "car"


def test_members_never_attempted_are_not_compensated():
    failed = decided(at_group("hotel"), "hotel", REFUSED).state

    assert failed.cursor == 1  # hotel, refused but attempted; car never began
    assert not member_started(failed, "car")


def test_with_no_member_to_undo_compensation_goes_on_to_the_steps_before():
    only_quote = decided(at_group("quote"), "quote", REFUSED).state  # quote has no undo

    assert (only_quote.status, only_quote.cursor) == (SagaStatus.COMPENSATING, 0)


def test_compensating_walks_back_through_the_started_members_then_the_steps_before():
    state = decided(at_group("hotel", "quote", "car"), "hotel", REFUSED).state
    undone = Outcome(kind=OutcomeKind.SUCCEEDED)
    visited = []
    while state.status is SagaStatus.COMPENSATING:
        visited.append(SAGA.steps[state.cursor].name)
        state = decide(SAGA, state, undone, uniform=no_jitter).state

    assert visited == ["car", "hotel", "pay"]
    assert state.status is SagaStatus.COMPENSATED


def test_compensating_back_through_a_completed_group_undoes_every_member():
    past = decided(at_group("hotel", "quote", "car", hotel=1, car=2), "quote", OK).state
    shipping_refused = decide(
        SAGA, past.evolve(attempt=1), REFUSED, uniform=no_jitter
    ).state  # ship refused at its first attempt: not undone itself

    assert shipping_refused.cursor == 3  # car, though the group's progress was cleared


def test_an_attempt_in_flight_when_the_group_failed_keeps_its_success_only():
    failed = decided(at_group("hotel", "car"), "hotel", REFUSED).state

    assert member_settled(failed, "car", OK).results["car"] == {"ok": True}
    assert member_settled(failed, "car", FAILED) == failed


def test_stopping_at_a_group_compensates_its_started_members():
    failure = Failure(
        step="hotel+quote+car", direction=Direction.FORWARD, error="x", code="aborted"
    )

    some = stop_forward(SAGA, at_group("hotel"), failure)
    none = stop_forward(SAGA, at_group(), failure)

    assert (some.status, some.cursor) == (SagaStatus.COMPENSATING, 1)
    assert (none.status, none.cursor) == (SagaStatus.COMPENSATING, 0)


def test_the_group_is_due_when_its_earliest_pending_member_is():
    state = at_group("hotel", "quote", "car", quote=1)
    hotel = decided(state, "hotel", FAILED).state
    both = decide_member(SAGA, hotel, "car", FAILED, now=NOW + 5, uniform=no_jitter).state

    assert group_retry_at(SAGA, both) == NOW + 1
    assert group_retry_at(SAGA, hotel) == 0.0  # car is due now
