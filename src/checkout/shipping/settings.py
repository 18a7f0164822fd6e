"""Shipping service settings: the shared ones plus ``SHIPPING_DATABASE_URL``."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from checkout.common.settings import ServiceSettings, default_sqlite_url


class ShippingSettings(ServiceSettings):
    database_url: str = Field(default="", validation_alias="SHIPPING_DATABASE_URL")

    @model_validator(mode="after")
    def _default_database_url(self) -> Self:
        if not self.database_url:
            url = default_sqlite_url(self.data_dir, "shipping")
            object.__setattr__(self, "database_url", url)
        return self
