"""The chaos run, small: it keeps the books straight, and its checks can fail.

Each run starts the real services as processes with faults injected, late deliveries
among them, while the scarce product runs out and is restocked. The negative controls
turn the participants' idempotency off (a test-only switch): the same checks must then
find the effects that duplicate or late requests apply.
"""

from __future__ import annotations

import pytest

from checkout.chaos.run import ChaosConfig, run_chaos
from tests.conftest import test_database_backend

pytestmark = pytest.mark.e2e


def config(**overrides: object) -> ChaosConfig:
    postgres = test_database_backend() == "postgresql"
    base: dict[str, object] = {
        "sagas": 60,
        "concurrency": 8,
        "kills": 1,
        "backend": test_database_backend(),
        "orchestrators": 2 if postgres else 1,
        "pauses": 1 if postgres else 0,
        "show_progress": False,
    }
    return ChaosConfig(**{**base, **overrides})  # type: ignore[arg-type]


def test_a_chaos_run_with_kills_and_faults_keeps_the_books_straight(tmp_path):
    result = run_chaos(config(), workdir=tmp_path)

    assert result.violations == []
    assert result.sagas == 60
    assert result.kills == 1
    assert result.faults > 0
    assert result.late_deliveries > 0
    assert result.restocks > 0


def test_without_idempotency_the_same_checks_find_double_effects(tmp_path):
    result = run_chaos(
        config(kills=0, pauses=0, fail_after_commit_rate=0.3, idempotency_disabled=True),
        workdir=tmp_path,
    )

    assert any("applied twice" in violation for violation in result.violations)


def test_without_idempotency_late_deliveries_alone_break_the_books(tmp_path):
    # No kills, no 500s, no lost answers: the only requests that act twice are copies
    # that landed after the orchestrator gave up on them and retried, or compensated.
    result = run_chaos(
        config(
            sagas=120,
            kills=0,
            pauses=0,
            error_rate=0,
            fail_after_commit_rate=0,
            timeout_rate=0.1,
            idempotency_disabled=True,
        ),
        workdir=tmp_path,
    )

    assert result.late_deliveries == result.faults > 0
    assert any(
        "applied twice" in violation or "(compensated)" in violation
        for violation in result.violations
    )
