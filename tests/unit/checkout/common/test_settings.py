from __future__ import annotations

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
