from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from checkout.payment.settings import PaymentSettings
from checkout.shipping.settings import ShippingSettings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", "s")
    monkeypatch.setenv("ADMIN_TOKEN", "a")
    monkeypatch.setenv("CHECKOUT_DATA_DIR", "/tmp/checkout")
    monkeypatch.setenv("FAULTS_ENABLED", "1")
    settings = ShippingSettings()
    assert settings.database_url == "sqlite+aiosqlite:////tmp/checkout/shipping.db"
    assert settings.faults_enabled and not settings.idempotency_disabled
    monkeypatch.setenv("SHIPPING_DATABASE_URL", "postgresql+asyncpg://db/shipping")
    assert ShippingSettings().database_url == "postgresql+asyncpg://db/shipping"


def test_equal_service_and_admin_tokens_are_refused() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        PaymentSettings(service_token="same", admin_token="same")


def test_tokens_are_never_shown() -> None:
    settings = PaymentSettings(service_token="s3cret-s", admin_token="s3cret-a")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


def test_a_refused_setting_does_not_quote_the_tokens() -> None:
    with pytest.raises(ValidationError) as refused:
        PaymentSettings(service_token="s3cret-same", admin_token="s3cret-same")
    assert "s3cret" not in str(refused.value)


def test_keys_are_kept_a_week_with_a_minute_of_clock_skew_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = PaymentSettings(service_token="s", admin_token="a").key_rules
    assert (rules.key_retention, rules.clock_skew) == (timedelta(days=7), timedelta(minutes=1))

    monkeypatch.setenv("KEY_RETENTION_SECONDS", "3600")
    monkeypatch.setenv("CLOCK_SKEW_SECONDS", "5")
    monkeypatch.setenv("KEY_PRUNE_INTERVAL_SECONDS", "10")
    settings = ShippingSettings(service_token="s", admin_token="a")

    assert settings.key_rules.acceptance_window == timedelta(seconds=3590)
    assert settings.key_prune_interval_seconds == 10


@pytest.mark.parametrize(("retention", "skew"), [("180", "60"), ("100", "60"), ("1", "1")])
def test_a_retention_that_would_forget_keys_before_their_requests_arrive_is_refused(
    monkeypatch: pytest.MonkeyPatch, retention: str, skew: str
) -> None:
    monkeypatch.setenv("KEY_RETENTION_SECONDS", retention)
    monkeypatch.setenv("CLOCK_SKEW_SECONDS", skew)

    with pytest.raises(ValidationError) as refused:
        PaymentSettings(service_token="s", admin_token="a")

    message = str(refused.value)
    assert "KEY_RETENTION_SECONDS" in message and "CLOCK_SKEW_SECONDS" in message
    assert "raise KEY_RETENTION_SECONDS or lower CLOCK_SKEW_SECONDS" in message


def test_a_retention_just_over_three_skews_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEY_RETENTION_SECONDS", "181")
    monkeypatch.setenv("CLOCK_SKEW_SECONDS", "60")

    rules = PaymentSettings(service_token="s", admin_token="a").key_rules

    assert rules.acceptance_window == timedelta(seconds=61)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEY_RETENTION_SECONDS", "0"),
        ("KEY_RETENTION_SECONDS", "nan"),
        ("KEY_RETENTION_SECONDS", "inf"),
        ("CLOCK_SKEW_SECONDS", "-1"),
        ("CLOCK_SKEW_SECONDS", "soon"),
        ("KEY_PRUNE_INTERVAL_SECONDS", "0"),
    ],
)
def test_a_key_setting_that_is_not_a_sensible_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name):
        PaymentSettings(service_token="s", admin_token="a")
