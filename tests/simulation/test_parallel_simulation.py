"""A ``Parallel`` group under deterministic simulation: a trip booked with the bank, then
a hotel, a flight and a car side by side, then tickets, while orchestrators crash
(members in flight) and pause, participants go down, and the network delays, loses,
duplicates and delivers late. Some trips are refused by one desk; some are aborted.

The books: a booking a desk keeps belongs to a completed trip, and a completed trip
has every booking. A negative control (compensation that forgets a member whose
outcome it never heard) shows the search finds the violation the rule prevents.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

import sagakit.progress
from sagakit import (
    JSON,
    AttemptStart,
    InMemorySagaStore,
    Parallel,
    RetryPolicy,
    Saga,
    SagaState,
    SagaStatus,
    Step,
    StepContext,
)
from sagakit.http import HTTP_RETRY, post_step
from sagakit.http.transport_client import TransportParticipantClient
from sagakit.simulation import (
    Abort,
    Mayhem,
    Options,
    Participant,
    Start,
    World,
    run_seeds,
    simulate,
)
from tests.support.keepers import Keeper, simulated_clients

OPTIONS = Options(lease=timedelta(seconds=10))
DESKS = ("bank", "hotel", "flight", "car", "tickets")
PLANS = ("book", "book", "book", "hotel full", "flight full", "car full", "no tickets")
PATIENT = replace(
    HTTP_RETRY,
    initial_interval=timedelta(seconds=8),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
)
"""The car desk's back-off: past half the lease, so the saga parks mid-group for it."""


async def book(context: StepContext[Any, Any]) -> JSON:
    client: TransportParticipantClient = context.deps[context.step]
    body = {"saga": context.saga_id, "refused_by": context.input["refused_by"]}
    return await post_step(client, "/book", context=context, json=body)


async def cancel(context: StepContext[Any, Any]) -> JSON:
    client: TransportParticipantClient = context.deps[context.step]
    body = {"forward_key": context.forward_key}
    return await post_step(client, "/cancel", context=context, json=body)


def desk(name: str, *, retry: RetryPolicy = HTTP_RETRY) -> Step:
    return Step(name, book, compensation=cancel, retry=retry, timeout=timedelta(seconds=3))


TRIP = Saga(
    name="trip",
    version=1,
    steps=(
        desk("bank"),
        Parallel(desk("hotel"), desk("flight"), desk("car", retry=PATIENT)),
        desk("tickets"),
    ),
)


def _desk_model(name: str) -> Keeper:
    """A desk that refuses the bookings of a saga it is full for."""
    return Keeper(
        "book", "cancel", refuses=lambda body: "full" if body["refused_by"] == name else None
    )


class TripScenario:
    def __init__(self, world: World) -> None:
        self._desks = {name: _desk_model(name) for name in DESKS}
        self._clients = simulated_clients(world, DESKS)
        self.refused: dict[str, str] = {}  # saga -> the desk that refuses it

    def participants(self) -> Mapping[str, Participant]:
        return self._desks

    def sagas(self) -> Sequence[Saga]:
        return [TRIP]

    def deps(self) -> Any:
        return self._clients

    def workload(self, rng: random.Random, *, duration: float) -> Sequence[Any]:
        events: list[Any] = []
        for _ in range(rng.randint(3, 10)):
            saga_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            plan = rng.choice(PLANS)
            refused_by = {"hotel full": "hotel", "flight full": "flight", "car full": "car"}
            refused_by["no tickets"] = "tickets"
            input = {"refused_by": refused_by.get(plan)}
            if input["refused_by"]:
                self.refused[saga_id] = input["refused_by"]
            at = rng.uniform(0, duration * 0.6)
            events.append(Start(at=at, saga=TRIP, input=input, saga_id=saga_id))
            if rng.random() < 0.15:
                events.append(Abort(at=at + rng.uniform(0, 10), saga_id=saga_id))
        return events

    def check(self, sagas: Mapping[str, SagaState]) -> list[str]:
        violations = []
        for name, kept in self._desks.items():
            for key, saga_id in kept.kept.items():
                state = sagas.get(saga_id)
                if state is None or state.status is not SagaStatus.COMPLETED:
                    status = state.status if state else "unknown"
                    violations.append(f"{name} keeps {key} for a {status} saga")
        for saga_id, state in sagas.items():
            if state.status is not SagaStatus.COMPLETED:
                continue
            if saga_id in self.refused:
                violations.append(
                    f"saga {saga_id} completed, though {self.refused[saga_id]} refuses"
                )
            for name, kept in self._desks.items():
                if f"{saga_id}:{name}:forward" not in kept.kept:
                    violations.append(f"saga {saga_id} completed without a booking at {name}")
        return violations


def test_seeds_with_members_crashing_in_flight_keep_the_books() -> None:
    search = run_seeds(TripScenario, range(300), options=OPTIONS)

    assert [(r.seed, r.violations) for r in search.failures] == []
    assert search.runs == 300 and search.counts["sagas"] > 1500
    assert search.counts["completed"] > 0 and search.counts["compensated"] > 0
    assert search.counts["crashes"] > 0 and search.counts["pauses"] > 0
    assert search.counts["late deliveries"] > 0 and search.counts["answers lost"] > 0
    assert search.counts["aborts"] > 0


def test_a_calm_seed_replays_exactly() -> None:
    first = simulate(TripScenario, 5, mayhem=Mayhem(crashes=2), options=OPTIONS)
    second = simulate(TripScenario, 5, mayhem=Mayhem(crashes=2), options=OPTIONS)

    assert first.ok, first.violations
    assert first.trace.render() == second.trace.render()


def test_if_a_member_whose_outcome_is_unknown_were_not_undone_the_search_finds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: compensation that undoes only the members it heard succeed leaves
    a booking that landed unheard (its answer lost, late, or its process dead) kept for
    a trip that was compensated."""

    def heard_only(state: SagaState, name: str) -> bool:
        return name in state.results

    monkeypatch.setattr(sagakit.progress, "member_started", heard_only)

    search = run_seeds(TripScenario, range(300), options=OPTIONS, stop_at_first_failure=True)

    assert search.failures, f"no violation in {search.runs} seeds"
    assert any("keeps" in v for v in search.failures[0].violations)


def test_if_a_members_count_were_saved_after_its_call_the_search_finds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control of the write-ahead: a store that saves a member's count with its
    outcome rather than with its attempt row loses it to a crash while the member is
    in flight, and the orchestrator that takes over numbers its next attempt again."""
    begin = InMemorySagaStore.begin_attempt

    async def count_saved_later(
        store: InMemorySagaStore,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None = None,
        close_interrupted: bool = False,
    ) -> None:
        if next_state is not None:
            next_state = next_state.evolve(members=state.members)
        await begin(store, state, start, next_state=next_state, close_interrupted=close_interrupted)

    monkeypatch.setattr(InMemorySagaStore, "begin_attempt", count_saved_later)

    search = run_seeds(TripScenario, range(300), options=OPTIONS, stop_at_first_failure=True)

    assert search.failures, f"no violation in {search.runs} seeds"
    assert any("exists" in v or "not at rest" in v for v in search.failures[0].violations)
