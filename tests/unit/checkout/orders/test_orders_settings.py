from __future__ import annotations

import pytest

from checkout.common.database import Database
from checkout.orders.settings import OrdersSettings

TOKENS = {"service_token": "s", "admin_token": "a"}


def test_on_postgresql_the_store_keeps_a_fixed_pool_and_opens_no_extra_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_DATABASE_URL", "postgresql+asyncpg://db/orders")
    monkeypatch.setenv("ORDERS_DATABASE_CONNECTIONS", "12")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT_SECONDS", "1.5")
    settings = OrdersSettings(**TOKENS)

    pool = Database(settings.database_url, **settings.database_options()).engine.pool

    assert settings.database_options() == {
        "pool_size": 12,
        "max_overflow": 0,
        "pool_timeout": 1.5,
        "connect_timeout": 5.0,
    }
    assert pool.size() == 12  # type: ignore[attr-defined]
    assert pool._max_overflow == 0  # type: ignore[attr-defined]
    assert pool._timeout == 1.5  # type: ignore[attr-defined]


def test_on_sqlite_the_pool_is_left_to_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERS_DATABASE_URL", raising=False)

    assert OrdersSettings(**TOKENS).database_options() == {}


def test_a_pool_of_no_connections_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_DATABASE_CONNECTIONS", "0")

    with pytest.raises(ValueError, match="ORDERS_DATABASE_CONNECTIONS"):
        OrdersSettings(**TOKENS)


def test_an_order_waits_fifteen_minutes_for_a_card_holder_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert OrdersSettings(**TOKENS).confirmation_timeout_seconds == 900

    monkeypatch.setenv("ORDERS_CONFIRMATION_TIMEOUT_SECONDS", "2.5")

    assert OrdersSettings(**TOKENS).confirmation_timeout_seconds == 2.5


@pytest.mark.parametrize("seconds", ["0", "-1", "86401", "nan", "soon"])
def test_a_confirmation_timeout_that_is_not_positive_or_over_a_day_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    monkeypatch.setenv("ORDERS_CONFIRMATION_TIMEOUT_SECONDS", seconds)

    with pytest.raises(ValueError, match="ORDERS_CONFIRMATION_TIMEOUT_SECONDS"):
        OrdersSettings(**TOKENS)


def test_an_order_deadline_the_participants_would_not_accept_keys_for_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keys accepted for 3600 - 2 x 60 seconds: an hour's deadline is too long for them.
    monkeypatch.setenv("KEY_RETENTION_SECONDS", "3600")

    with pytest.raises(ValueError) as refused:
        OrdersSettings(**TOKENS)

    message = str(refused.value)
    assert "ORDERS_DEADLINE_SECONDS (3600)" in message and "(3480: KEY_RETENTION" in message
    assert "lower ORDERS_DEADLINE_SECONDS or raise KEY_RETENTION_SECONDS" in message


def test_the_longest_order_deadline_is_refused_with_the_default_key_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_DEADLINE_SECONDS", str(7 * 86400))

    with pytest.raises(ValueError, match="ORDERS_DEADLINE_SECONDS"):
        OrdersSettings(**TOKENS)


def test_an_order_deadline_the_keys_outlast_by_a_step_and_the_skew_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEY_RETENTION_SECONDS", "3600")
    monkeypatch.setenv("ORDERS_DEADLINE_SECONDS", "3400")  # + 5 s step + 60 s skew < 3480

    assert OrdersSettings(**TOKENS).deadline_seconds == 3400
