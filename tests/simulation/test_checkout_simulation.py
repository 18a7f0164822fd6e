"""The checkout under deterministic simulation: seeds that keep the books, seeds that
replay exactly, and negative controls showing the search finds what each rule prevents.

The two rules that keep a cancelled order from keeping an effect each close the case
of a request that lands late, after a refusal of its retry:

- the engine compensates a refused step when an earlier attempt's outcome was unknown
  (the compensation leaves a tombstone that refuses the late request);
- participants record their refusals, so a late copy gets the recorded refusal.

Only the second closes a *copy* of a refused request (the engine saw nothing but the
refusal). So each control disables one rule, in a world where the other cannot save
the books, and the search must find a violation; with the rule back, the same seeds
are clean.

The participants also forget keys and tombstones 50 virtual seconds after the keys were
issued, which is safe only because they refuse a request that comes too late (past its
deadline, or under a key older than they accept): a third control accepts those, and
the search finds a request acting after what would have refused it was forgotten.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest

import sagakit.progress
from checkout.common.answers import KeyRules
from checkout.common.key_expiry import KeyTimes
from checkout.simulation.command import OPTIONS
from checkout.simulation.scenario import SIMULATED_KEYS, CheckoutScenario
from sagakit.simulation import CALM, Faults, Mayhem, run_seeds, simulate


class AcceptsLate(KeyRules):
    """TEST ONLY: a participant that never refuses a request for coming too late."""

    def refuse_if_too_late(self, times: KeyTimes, *, compensation: bool) -> None:
        return None


FORGETFUL = functools.partial(
    CheckoutScenario, rules=replace(SIMULATED_KEYS, remember_refusals=False)
)
FORGETFUL_LATE_WELCOME = functools.partial(
    CheckoutScenario,
    rules=AcceptsLate(
        remember_refusals=False, key_retention=timedelta(days=1), clock_skew=timedelta(seconds=1)
    ),
)
"""Forgets refusals, and takes late requests without forgetting keys: only the engine
rule stands between a late first attempt and the books."""
LATE_AFTER_EXPIRY = functools.partial(
    CheckoutScenario,
    rules=AcceptsLate(key_retention=timedelta(seconds=50), clock_skew=timedelta(seconds=1)),
)
HELD_BACK_LONG = Mayhem(
    orchestrators=2,
    crashes=1,
    faults=Faults(late_rate=0.3, late_latency=(1.0, 120.0)),
)
"""Requests held back for up to two minutes: longer than the participants keep keys."""
LATE_NOT_DUPLICATED = Mayhem(
    orchestrators=2,
    crashes=1,
    faults=Faults(late_rate=0.3, late_latency=(1.0, 30.0)),
)
BUDGET = range(1000)
"""Seeds a control may search: a few seconds' work where it finds its violation today."""


def test_seeds_under_every_kind_of_mayhem_keep_the_books() -> None:
    search = run_seeds(CheckoutScenario, range(60), options=OPTIONS)

    assert [(r.seed, r.violations) for r in search.failures] == []
    assert search.counts["completed"] > 0
    assert search.counts["compensated"] > 0
    assert search.counts["late deliveries"] > 0
    assert search.counts["crashes"] > 0
    # card_3ds holders answering in time, twice, against each other, late and never
    assert search.counts["events recorded"] > 0
    assert search.counts["events duplicate"] > 0
    assert search.counts["events payment answered 409"] > 0


def test_a_calm_world_completes_every_order_that_can_complete() -> None:
    outcome = simulate(CheckoutScenario, 3, mayhem=Mayhem(faults=CALM), options=OPTIONS)

    assert outcome.ok, outcome.violations
    assert outcome.counts["completed"] + outcome.counts["compensated"] == outcome.counts["sagas"]
    assert outcome.counts["completed"] > 0


def test_a_seed_replays_exactly() -> None:
    first = simulate(CheckoutScenario, 11, options=OPTIONS).trace.render()
    second = simulate(CheckoutScenario, 11, options=OPTIONS).trace.render()

    assert first == second
    assert len(first.splitlines()) > 20


def test_a_seed_replays_exactly_in_another_process_with_other_string_hashes() -> None:
    code = (
        "from checkout.simulation.scenario import CheckoutScenario; "
        "from checkout.simulation.command import OPTIONS; "
        "from sagakit.simulation import simulate; "
        "print(simulate(CheckoutScenario, 11, options=OPTIONS).trace.render())"
    )
    traces = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    }

    assert traces == {simulate(CheckoutScenario, 11, options=OPTIONS).trace.render() + "\n"}


def test_without_recorded_refusals_the_search_finds_a_copy_that_acts_after_a_restock() -> None:
    search = run_seeds(FORGETFUL, BUDGET, options=OPTIONS, stop_at_first_failure=True)

    assert search.failures, f"no violation in {search.runs} seeds"
    [failure] = search.failures
    assert any("still holds stock" in v or "live shipments" in v for v in failure.violations)
    assert "scarce restocked" in failure.trace or "(copy)" in failure.trace


def test_without_the_engine_rule_a_late_request_acts_for_a_cancelled_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The participants forget refusals (as one outside our control may), and the
    # network never duplicates: only the engine rule stands between the late first
    # attempt and the books.
    monkeypatch.setattr(sagakit.progress, "_earlier_attempt_unknown", lambda _state: False)

    search = run_seeds(
        FORGETFUL_LATE_WELCOME,
        BUDGET,
        mayhem=LATE_NOT_DUPLICATED,
        options=OPTIONS,
        stop_at_first_failure=True,
    )

    assert search.failures, f"no violation in {search.runs} seeds"
    [failure] = search.failures
    assert "(late)" in failure.trace


def test_with_the_engine_rule_the_same_world_keeps_the_books() -> None:
    search = run_seeds(
        FORGETFUL_LATE_WELCOME, range(80), mayhem=LATE_NOT_DUPLICATED, options=OPTIONS
    )

    assert [(r.seed, r.violations) for r in search.failures] == []
    assert search.counts["late deliveries"] > 0


def test_forgetting_keys_without_refusing_late_requests_lets_one_act_too_late() -> None:
    search = run_seeds(
        LATE_AFTER_EXPIRY,
        BUDGET,
        mayhem=HELD_BACK_LONG,
        options=OPTIONS,
        stop_at_first_failure=True,
    )

    assert search.failures, f"no violation in {search.runs} seeds"
    [failure] = search.failures
    assert "(late)" in failure.trace


def test_refusing_late_requests_keeps_the_books_while_keys_are_forgotten() -> None:
    search = run_seeds(CheckoutScenario, range(80), mayhem=HELD_BACK_LONG, options=OPTIONS)

    assert [(r.seed, r.violations) for r in search.failures] == []
    assert search.counts["refused as too late"] > 0
