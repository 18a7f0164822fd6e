"""Payment service settings: the shared ones plus ``PAYMENT_DATABASE_URL``, and where
the order service hears what card holders answered (``ORDERS_URL``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from checkout.common.settings import ServiceSettings, default_sqlite_url


class PaymentSettings(ServiceSettings):
    database_url: str = Field(default="", validation_alias="PAYMENT_DATABASE_URL")
    orders_url: str = Field(default="http://127.0.0.1:8000", validation_alias="ORDERS_URL")
    """The order service, told of every answer to a payment's challenge."""
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, validation_alias="PAYMENT_WEBHOOK_TIMEOUT_SECONDS"
    )
    """How long one delivery to the order service may take before it is tried again."""

    @model_validator(mode="after")
    def _default_database_url(self) -> Self:
        if not self.database_url:
            object.__setattr__(self, "database_url", default_sqlite_url(self.data_dir, "payment"))
        return self
