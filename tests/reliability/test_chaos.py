"""The chaos run, small: it keeps the books straight, and its checks can fail.

Each run starts the real services as processes with faults injected; the second one
turns the participants' idempotency off (a test-only switch), and the same checks
must then find effects applied twice.
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


def test_without_idempotency_the_same_checks_find_double_effects(tmp_path):
    result = run_chaos(
        config(kills=0, pauses=0, fail_after_commit_rate=0.3, idempotency_disabled=True),
        workdir=tmp_path,
    )

    assert any("applied twice" in violation for violation in result.violations)
