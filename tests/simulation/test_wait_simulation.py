"""Steps that wait for an event, under deterministic simulation: events sent early, in
time, late, twice, conflicting or never, while orchestrators crash and pause and the
network delays, duplicates and delivers late.

The books: a hold the bank keeps and a parcel the warehouse keeps belong to completed
sagas only; and what each sender was told agrees with how its saga ended (an event
recorded with "confirmed" completed it, one recorded with "declined" cancelled it, a
saga that recorded none timed out, and a sender told "timed_out" really came late).
A negative control (a wait that forgets the first-recorded rule) shows the search
finds the violation that rule prevents.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest

import sagakit.engine
from sagakit import (
    JSON,
    Await,
    Saga,
    SagaState,
    SagaStatus,
    Step,
    StepContext,
    StepRejected,
)
from sagakit.http import HTTP_RETRY, post_step
from sagakit.http.transport_client import TransportParticipantClient
from sagakit.simulation import (
    Mayhem,
    Options,
    Participant,
    Send,
    Start,
    World,
    run_seeds,
    simulate,
)
from tests.support.keepers import Keeper, simulated_clients

WAIT = timedelta(seconds=20)
OPTIONS = Options(lease=timedelta(seconds=10))
PLANS = ("confirm", "decline", "never", "twice", "conflict", "early", "late")


async def _call(context: StepContext[Any, Any], path: str, body: JSON) -> JSON:
    client: TransportParticipantClient = context.deps[context.step]
    return await post_step(client, path, context=context, json=body)


async def authorize(context: StepContext[Any, Any]) -> JSON:
    return await _call(context, "/hold", {"saga": context.saga_id})


async def void(context: StepContext[Any, Any]) -> JSON:
    return await _call(context, "/release", {"forward_key": context.forward_key})


async def ship(context: StepContext[Any, Any]) -> JSON:
    return await _call(context, "/hold", {"saga": context.saga_id})


async def cancel(context: StepContext[Any, Any]) -> JSON:
    return await _call(context, "/release", {"forward_key": context.forward_key})


def confirmation(context: StepContext[Any, Any], event: JSON) -> JSON:
    if event["outcome"] != "confirmed":
        raise StepRejected("the customer declined", code="declined")
    return {**context.result, "confirmed": True}


SAGA = Saga(
    name="card",
    version=1,
    steps=(
        Step(
            "bank",
            authorize,
            compensation=void,
            retry=HTTP_RETRY,
            timeout=timedelta(seconds=3),
            wait=Await(event="confirmation", timeout=WAIT, on_event=confirmation),
        ),
        Step(
            "warehouse", ship, compensation=cancel, retry=HTTP_RETRY, timeout=timedelta(seconds=3)
        ),
    ),
)


class WaitScenario:
    def __init__(self, world: World) -> None:
        self._participants = {
            "bank": Keeper("hold", "release"),
            "warehouse": Keeper("hold", "release"),
        }
        self._clients = simulated_clients(world, self._participants)
        self.answers: dict[str, list[tuple[str, str]]] = defaultdict(list)
        """Per saga: (the outcome sent, what its sender was told)."""

    def participants(self) -> Mapping[str, Participant]:
        return self._participants

    def sagas(self) -> Sequence[Saga]:
        return [SAGA]

    def deps(self) -> Any:
        return self._clients

    def workload(self, rng: random.Random, *, duration: float) -> Sequence[Any]:
        events: list[Any] = []
        for _ in range(rng.randint(3, 10)):
            saga_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            at = rng.uniform(0, duration * 0.6)
            events.append(Start(at=at, saga=SAGA, input={}, saga_id=saga_id))
            plan = rng.choice(PLANS)
            sends: list[tuple[float, str]] = {
                "confirm": [(rng.uniform(0, 15), "confirmed")],
                "decline": [(rng.uniform(0, 15), "declined")],
                "never": [],
                "twice": [(rng.uniform(0, 15), "confirmed")] * 2,
                "conflict": [(t := rng.uniform(0, 15), "confirmed"), (t + 0.01, "declined")],
                "early": [(0.0, "confirmed")],
                # about when the wait runs out: before the timeout is recorded, or after
                "late": [(WAIT.total_seconds() + rng.uniform(-1, 3), "confirmed")],
            }[plan]
            for after, outcome in sends:
                events.append(
                    Send(
                        at=at + after,
                        saga_id=saga_id,
                        event="confirmation",
                        payload={"outcome": outcome},
                        answered=lambda answer, s=saga_id, o=outcome: self.answers[s].append(
                            (o, answer)
                        ),
                    )
                )
        return events

    def check(self, sagas: Mapping[str, SagaState]) -> list[str]:
        violations = []
        for name, keeper in self._participants.items():
            for key, saga_id in keeper.kept.items():
                state = sagas.get(saga_id)
                if state is None or state.status is not SagaStatus.COMPLETED:
                    status = state.status if state else "unknown"
                    violations.append(f"{name} keeps {key} for a {status} saga")
        for saga_id, state in sagas.items():
            violations += self._check_answers(saga_id, state)
        return violations

    def _check_answers(self, saga_id: str, state: SagaState) -> list[str]:
        """What the senders were told against how the saga's wait ended, read from where
        the saga stopped: a wait that ended decided by the one recorded event, or by the
        timeout when none was recorded."""
        answers = self.answers.get(saga_id, [])
        recorded = [outcome for outcome, answer in answers if answer == "recorded"]
        failure = state.failure
        if state.status is SagaStatus.COMPLETED or (failure and failure.step == "warehouse"):
            expected: list[str] | None = ["confirmed"]  # the wait ended confirmed
        elif failure and failure.code == "declined":
            expected = ["declined"]
        elif failure and failure.code == "event_timeout":
            expected = []
        else:  # the bank's action never succeeded: no wait began, an event may be kept
            expected = None
        problems = []
        if len(recorded) > 1 or (expected is not None and recorded != expected):
            where = f"{failure.step}: {failure.code}" if failure else "no failure"
            problems.append(
                f"saga {saga_id} ended {state.status} ({where}), but its senders were told "
                f"{answers}"
            )
        duplicates = [outcome for outcome, answer in answers if answer == "duplicate"]
        if any(outcome not in recorded for outcome in duplicates):
            problems.append(f"saga {saga_id}: a duplicate of no recorded event: {answers}")
        if any(outcome in recorded and answer == "another_event" for outcome, answer in answers):
            problems.append(
                f"saga {saga_id}: the event it kept, sent again, was refused: {answers}"
            )
        if any(answer == "timed_out" for _, answer in answers) and not (
            failure and failure.code == "event_timeout"
        ):
            problems.append(f"saga {saga_id}: a sender was told it came too late: {answers}")
        return problems


def test_seeds_with_events_early_late_twice_and_never_keep_the_books() -> None:
    search = run_seeds(WaitScenario, range(80), options=OPTIONS)

    assert [(r.seed, r.violations) for r in search.failures] == []
    seen = ("recorded", "duplicate", "another_event", "not_running")
    for answer in seen:
        assert search.counts[f"events {answer}"] > 0, answer
    assert search.counts["crashes"] > 0 and search.counts["late deliveries"] > 0
    assert search.counts["completed"] > 0 and search.counts["compensated"] > 0


def test_a_calm_seed_replays_exactly() -> None:
    first = simulate(WaitScenario, 5, mayhem=Mayhem(crashes=1), options=OPTIONS)
    second = simulate(WaitScenario, 5, mayhem=Mayhem(crashes=1), options=OPTIONS)

    assert first.ok, first.violations
    assert first.trace.render() == second.trace.render()


def test_if_the_same_event_sent_twice_were_two_events_the_search_finds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: an engine that keys every event afresh (not by its payload) takes a
    repeat of the event it kept for another one, and refuses its sender."""
    monkeypatch.setattr(sagakit.engine, "_digest", lambda _payload: uuid.uuid4().hex)

    search = run_seeds(WaitScenario, range(200), options=OPTIONS, stop_at_first_failure=True)

    assert search.failures, f"no violation in {search.runs} seeds"
    assert any("sent again, was refused" in v for v in search.failures[0].violations)
