"""Saga definitions and retry policies validate themselves and compute backoff exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sagakit import AttemptLimit, Await, Parallel, RetryPolicy, Saga, Step


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


def test_a_parallel_group_stands_flat_among_the_steps_each_member_tagged_with_it():
    saga = Saga(
        "s", 1, (Step("a", noop), Parallel(Step("b", noop), Step("c", noop)), Step("d", noop))
    )

    assert [(step.name, step.group) for step in saga.steps] == [
        ("a", None),
        ("b", "b+c"),
        ("c", "b+c"),
        ("d", None),
    ]
    assert saga.spans == (range(0, 1), range(1, 3), range(1, 3), range(3, 4))
    assert [saga.label(i) for i in range(4)] == ["a", "b+c", "b+c", "d"]


def test_a_parallel_group_needs_two_steps():
    with pytest.raises(ValueError, match="at least two"):
        Parallel(Step("a", noop))


def test_a_parallel_member_cannot_wait_for_an_event():
    waiting = Step("a", noop, wait=Await(event="paid", timeout=timedelta(minutes=1)))

    with pytest.raises(ValueError, match="cannot wait"):
        Parallel(waiting, Step("b", noop))


def test_member_names_are_unique_across_the_saga():
    with pytest.raises(ValueError, match="repeats step names"):
        Saga("s", 1, (Step("a", noop), Parallel(Step("a", noop), Step("b", noop))))


def test_a_group_named_by_hand_on_steps_apart_is_refused():
    with pytest.raises(ValueError, match="stand together"):
        Saga("s", 1, (Step("a", noop, group="a+c"), Step("b", noop), Step("c", noop, group="a+c")))


def test_a_capped_definition_keeps_its_groups():
    saga = Saga("s", 1, (Parallel(Step("a", noop), Step("b", noop)), Step("c", noop)))

    capped = saga.capped(AttemptLimit(forward=1))

    assert capped.spans == saga.spans
    assert [step.retry.maximum_attempts for step in capped.steps] == [1, 1, 1]
