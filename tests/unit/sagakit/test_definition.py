"""Saga definitions and retry policies validate themselves and compute backoff exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sagakit import RetryPolicy, Saga, Step


async def noop(_context):
    return None


def test_backoff_grows_exponentially_up_to_the_maximum():
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2,
        maximum_interval=timedelta(seconds=5),
        jitter=0.0,
    )

    delays = [policy.delay_before(attempt).total_seconds() for attempt in range(2, 7)]

    assert delays == [1, 2, 4, 5, 5]


def test_jitter_spreads_the_delay_within_its_bounds():
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), jitter=0.2)

    assert policy.delay_before(2, uniform=lambda low, high: low) == timedelta(seconds=0.8)
    assert policy.delay_before(2, uniform=lambda low, high: high) == timedelta(seconds=1.2)


@pytest.mark.parametrize(
    "options",
    [
        {"maximum_attempts": 0},
        {"backoff_coefficient": 0.5},
        {"jitter": 1.0},
        {"initial_interval": timedelta(seconds=2), "maximum_interval": timedelta(seconds=1)},
    ],
)
def test_a_policy_refuses_nonsense(options):
    with pytest.raises(ValueError):
        RetryPolicy(**options)


def test_a_saga_refuses_repeated_step_names():
    with pytest.raises(ValueError, match="repeats step names"):
        Saga("s", 1, (Step("a", noop), Step("a", noop)))


def test_a_step_name_cannot_contain_the_key_separator():
    with pytest.raises(ValueError):
        Step("pay:now", noop)


def test_the_engine_package_imports_neither_fastapi_nor_the_checkout():
    import subprocess
    import sys

    code = (
        "import sys, sagakit, sagakit.http, sagakit.migrate, sagakit.simulation; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'checkout')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
