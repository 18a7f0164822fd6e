"""What ``checkout bench --soak`` accepts, and the settings it gives the services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkout.bench.soak.command import soak_config
from checkout.bench.soak.config import SoakConfig, check_services_accept
from checkout.orders.saga import STEP_TIMEOUT


def options(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "duration": "30m",
        "report_every": "60s",
        "retention": "3m",
        "configurations": ["ours-sqlite"],
        "concurrency": [],
        "connections": 8,
        "postgres_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("typed", "span"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
    ],
)
def test_the_soak_lasts_as_long_as_typed(typed: str, span: timedelta) -> None:
    config = soak_config(**options(duration=typed, report_every="10s"))

    assert config.duration == span


@pytest.mark.parametrize("typed", ["30", "half an hour", "1.5h", "-5m"])
def test_a_duration_without_a_unit_is_refused_saying_what_to_type(typed: str) -> None:
    with pytest.raises(ValueError, match="90s, 30m"):
        soak_config(**options(duration=typed))


def test_the_soak_runs_the_benchmarks_32_clients_unless_told() -> None:
    assert soak_config(**options()).concurrency == 32
    assert soak_config(**options(concurrency=[4])).concurrency == 4


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"configurations": []}, "one configuration"),
        ({"configurations": ["ours-sqlite", "ours-postgresql"]}, "one configuration"),
        ({"configurations": ["dbos-sqlite"]}, "ours-sqlite or ours-postgresql"),
        ({"concurrency": [1, 32]}, "one concurrency"),
        ({"report_every": "30m"}, "shorter than the soak"),
        ({"retention": "30s"}, "give --retention"),
    ],
)
def test_a_soak_it_cannot_run_is_refused_saying_why(
    overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        soak_config(**options(**overrides))


@pytest.mark.parametrize(
    "retention", [timedelta(seconds=50), timedelta(minutes=3), timedelta(hours=1)]
)
def test_orders_end_before_the_participants_forget_their_keys(retention: timedelta) -> None:
    config = SoakConfig(
        configuration="ours-sqlite", duration=timedelta(hours=1), retention=retention
    )
    accepted = retention - 2 * config.clock_skew

    assert config.deadline + STEP_TIMEOUT + config.clock_skew < accepted
    assert config.confirmation_timeout < config.deadline
    assert config.prune_every < retention
    check_services_accept(config)  # the services' own validators agree


def test_every_retention_setting_goes_to_the_services() -> None:
    config = SoakConfig(
        configuration="ours-postgresql",
        duration=timedelta(minutes=30),
        retention=timedelta(minutes=3),
    )

    assert config.environment() == {
        "ORDERS_HISTORY_RETENTION_SECONDS": "180",
        "ORDERS_PRUNE_INTERVAL_SECONDS": "30",
        "KEY_RETENTION_SECONDS": "180",
        "CLOCK_SKEW_SECONDS": "5",
        "KEY_PRUNE_INTERVAL_SECONDS": "30",
        "ORDERS_DEADLINE_SECONDS": "106",
        "ORDERS_CONFIRMATION_TIMEOUT_SECONDS": "53",
    }


def test_a_soak_past_ten_minutes_compares_from_minute_ten() -> None:
    config = SoakConfig(configuration="ours-sqlite", duration=timedelta(minutes=30))

    assert (config.baseline, config.shortened) == (timedelta(minutes=10), False)


def test_a_soak_of_ten_minutes_or_less_compares_from_its_first_third() -> None:
    config = SoakConfig(configuration="ours-sqlite", duration=timedelta(minutes=6))

    assert (config.baseline, config.shortened) == (timedelta(minutes=2), True)
