"""Settings every checkout service shares, read from the environment by pydantic-settings.

Each service subclasses :class:`ServiceSettings` and adds its database URL. Settings are
built inside ``create_app``, never at import time, so tests pass their own instance.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from checkout.common.answers import KeyRules
from checkout.common.key_expiry import DEFAULT_CLOCK_SKEW, DEFAULT_RETENTION, acceptance_window

LONGEST_RETENTION = timedelta(days=3650)
"""Keys kept longer than ten years are kept for good; the bound keeps dates computable."""
LONGEST_CLOCK_SKEW = timedelta(days=1)
LONGEST_PRUNE_INTERVAL = timedelta(days=1)


class ServiceSettings(BaseSettings):
    """Tokens, limits and switches common to the checkout services."""

    # hide_input_in_errors: a refused setting's error message must not quote a secret.
    model_config = SettingsConfigDict(
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    service_token: SecretStr = Field(validation_alias="SERVICE_TOKEN", min_length=1)
    admin_token: SecretStr = Field(validation_alias="ADMIN_TOKEN", min_length=1)
    faults_enabled: bool = Field(default=False, validation_alias="FAULTS_ENABLED")
    max_body_bytes: int = Field(default=1_048_576, validation_alias="MAX_BODY_BYTES", gt=0)
    data_dir: str = Field(default="data", validation_alias="CHECKOUT_DATA_DIR")
    database_pool_timeout_seconds: float = Field(
        default=3.0, gt=0, le=60, validation_alias="DATABASE_POOL_TIMEOUT_SECONDS"
    )
    """How long a request waits for a pooled PostgreSQL connection before it is answered
    503 (the pool is busy or the database is slow to answer); SQLite ignores it."""
    database_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, validation_alias="DATABASE_CONNECT_TIMEOUT_SECONDS"
    )
    """How long opening a PostgreSQL connection may take before the request gets a 503."""
    key_retention_seconds: float = Field(
        default=DEFAULT_RETENTION.total_seconds(),
        gt=0,
        le=LONGEST_RETENTION.total_seconds(),
        validation_alias="KEY_RETENTION_SECONDS",
    )
    """How long a participant keeps the answer recorded under an idempotency key, and a
    tombstone, after the key was issued. It accepts a key for this less twice the clock
    skew (the acceptance window): see :mod:`checkout.common.key_expiry`."""
    clock_skew_seconds: float = Field(
        default=DEFAULT_CLOCK_SKEW.total_seconds(),
        ge=0,
        le=LONGEST_CLOCK_SKEW.total_seconds(),
        validation_alias="CLOCK_SKEW_SECONDS",
    )
    """How far the clock of any service process may be from the order service's database
    clock. Set it, and the retention, alike on all four services."""
    key_prune_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        le=LONGEST_PRUNE_INTERVAL.total_seconds(),
        validation_alias="KEY_PRUNE_INTERVAL_SECONDS",
    )
    """How often a participant deletes the answers and tombstones that expired."""
    idempotency_disabled: bool = Field(
        default=False,
        validation_alias="IDEMPOTENCY_DISABLED",
        description=(
            "TEST-ONLY. When true, the participants' forward POSTs ignore the "
            "Idempotency-Key they receive, so a retried request applies its effect "
            "again. It exists only so the chaos test can prove its invariant checker "
            "catches double effects. Never set it anywhere else."
        ),
    )

    def pool_options(self, database_url: str) -> dict[str, Any]:
        """The waits a request may spend on the database's pool, for ``Database``."""
        if make_url(database_url).get_backend_name() == "sqlite":
            return {}
        return {
            "pool_timeout": self.database_pool_timeout_seconds,
            "connect_timeout": self.database_connect_timeout_seconds,
            "max_overflow": 0,
        }

    @property
    def key_retention(self) -> timedelta:
        return timedelta(seconds=self.key_retention_seconds)

    @property
    def clock_skew(self) -> timedelta:
        return timedelta(seconds=self.clock_skew_seconds)

    @property
    def acceptance_window(self) -> timedelta:
        """How long after its issue a participant accepts a key for a forward request."""
        return acceptance_window(retention=self.key_retention, skew=self.clock_skew)

    @property
    def key_rules(self) -> KeyRules:
        return KeyRules(
            idempotent=not self.idempotency_disabled,
            key_retention=self.key_retention,
            clock_skew=self.clock_skew,
        )

    @model_validator(mode="after")
    def _keys_outlast_the_skew(self) -> Self:
        if self.acceptance_window <= self.clock_skew:
            raise ValueError(
                f"KEY_RETENTION_SECONDS ({self.key_retention_seconds:g}) must be more than "
                f"three times CLOCK_SKEW_SECONDS ({self.clock_skew_seconds:g}): keys are "
                "accepted for KEY_RETENTION_SECONDS - 2 x CLOCK_SKEW_SECONDS, and so short "
                "a window would forget keys sooner than their requests can arrive; raise "
                "KEY_RETENTION_SECONDS or lower CLOCK_SKEW_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _tokens_differ(self) -> Self:
        # Equal tokens would let the service token open the admin endpoints.
        if self.service_token.get_secret_value() == self.admin_token.get_secret_value():
            raise ValueError("SERVICE_TOKEN and ADMIN_TOKEN must differ")
        return self


def default_sqlite_url(data_dir: str, name: str) -> str:
    return f"sqlite+aiosqlite:///{data_dir}/{name}.db"
