"""Order service settings: the shared ones, its database, where the participants are and
which identity provider vouches for its customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, model_validator
from sqlalchemy.engine import make_url

from checkout.common.settings import ServiceSettings, default_sqlite_url
from checkout.orders.identity_settings import CustomerIdentitySettings
from checkout.orders.participants import CONFIRMATION_TIMEOUT, ORDER_DEADLINE
from checkout.orders.saga import COMPENSATION_ATTEMPTS, FORWARD_ATTEMPTS, STEP_TIMEOUT
from sagakit import Retention

LONGEST_CONFIRMATION_TIMEOUT = timedelta(days=1)
HISTORY_RETENTION = Retention().keep_for or timedelta(days=30)
"""sagakit's default: a finished saga's history is kept 30 days."""
LONGEST_ORDER_DEADLINE = timedelta(days=7)
"""The bound on ``ORDERS_CONFIRMATION_TIMEOUT_SECONDS``: an order that waits for its
customer holds nothing yet, but keeps them waiting for its outcome that long."""


class OrdersSettings(ServiceSettings, CustomerIdentitySettings):
    database_url: str = Field(default="", validation_alias="ORDERS_DATABASE_URL")
    payment_url: str = Field(default="http://127.0.0.1:8001", validation_alias="PAYMENT_URL")
    inventory_url: str = Field(default="http://127.0.0.1:8002", validation_alias="INVENTORY_URL")
    shipping_url: str = Field(default="http://127.0.0.1:8003", validation_alias="SHIPPING_URL")
    call_timeout_seconds: float = Field(
        default=STEP_TIMEOUT.total_seconds(),
        gt=0,
        le=STEP_TIMEOUT.total_seconds(),
        validation_alias="ORDERS_CALL_TIMEOUT_SECONDS",
    )
    """How long a participant call may take, at most the checkout's step timeout."""
    connections_per_participant: int = Field(
        default=64, ge=1, le=256, validation_alias="ORDERS_CONNECTIONS_PER_PARTICIPANT"
    )
    """Pooled connections to each participant. Fewer cost less CPU per call (the
    benchmark uses 8), but a saga waiting for one spends its step's timeout waiting: a
    burst of recovered sagas must not exhaust its retries in the pool's queue."""
    database_connections: int = Field(
        default=5, ge=1, le=200, validation_alias="ORDERS_DATABASE_CONNECTIONS"
    )
    """Connections the order service keeps open to PostgreSQL, all of them reused; a
    write that finds them busy waits for one (no extra connections are opened: see
    ``sagakit.open_database``). 5, 8 and 15 ran equally fast at 32 clients. SQLite
    ignores it."""
    lease_seconds: float = Field(
        default=30.0, gt=STEP_TIMEOUT.total_seconds(), validation_alias="ORDERS_LEASE_SECONDS"
    )
    """Longer than a step may take, or a takeover could overlap a step still running."""
    max_concurrent_sagas: int = Field(
        default=256, ge=1, validation_alias="ORDERS_MAX_CONCURRENT_SAGAS"
    )
    max_wait_seconds: float = Field(default=30.0, ge=0, validation_alias="ORDERS_MAX_WAIT_SECONDS")
    recovery_poll_seconds: float = Field(
        default=1.0, gt=0, validation_alias="ORDERS_RECOVERY_POLL_SECONDS"
    )
    forward_max_attempts: int = Field(
        default=FORWARD_ATTEMPTS,
        ge=1,
        le=FORWARD_ATTEMPTS,
        validation_alias="ORDERS_FORWARD_MAX_ATTEMPTS",
    )
    """Attempts of each step before its outcome is unknown and the order is cancelled: the
    checkout's own number, or fewer where sagas must give up sooner (``AttemptLimit``)."""
    compensation_max_attempts: int = Field(
        default=COMPENSATION_ATTEMPTS,
        ge=1,
        le=COMPENSATION_ATTEMPTS,
        validation_alias="ORDERS_COMPENSATION_MAX_ATTEMPTS",
    )
    """Attempts of each compensation before the saga ends ``failed`` for an operator: the
    checkout's own number, or fewer."""
    owner: str | None = Field(default=None, validation_alias="ORDERS_OWNER")
    confirmation_timeout_seconds: float = Field(
        default=CONFIRMATION_TIMEOUT.total_seconds(),
        gt=0,
        le=LONGEST_CONFIRMATION_TIMEOUT.total_seconds(),
        validation_alias="ORDERS_CONFIRMATION_TIMEOUT_SECONDS",
    )
    """How long an order paid with a card that asks its holder (3-D Secure) waits for the
    answer before it is cancelled and the payment voided. Read when the wait begins: a
    change applies to the orders that start waiting after it."""
    deadline_seconds: float = Field(
        default=ORDER_DEADLINE.total_seconds(),
        gt=0,
        le=LONGEST_ORDER_DEADLINE.total_seconds(),
        validation_alias="ORDERS_DEADLINE_SECONDS",
    )
    """How long an order may take to complete: past it, the order is cancelled and what
    it holds (the reservation, the payment) is given back. Read when the order is placed.
    Longer than the confirmation timeout, so that it never cuts a card holder short."""
    history_retention_seconds: float = Field(
        default=HISTORY_RETENTION.total_seconds(),
        ge=0,
        validation_alias="ORDERS_HISTORY_RETENTION_SECONDS",
    )
    """How long a finished saga's history (its steps' attempts, operators' actions) is
    kept after the order completed or was cancelled; then it is deleted in the background.
    The order itself stays, with its status. Sagas still running, waiting or failed are
    never deleted."""
    history_keep_last: int | None = Field(
        default=None, ge=0, validation_alias="ORDERS_HISTORY_KEEP_LAST"
    )
    """Also keep at most this many finished sagas' histories, the most recent (unset: no
    count bound)."""
    prune_interval_seconds: float = Field(
        default=60.0, gt=0, validation_alias="ORDERS_PRUNE_INTERVAL_SECONDS"
    )
    """How often the order service deletes the history that retention lets go."""

    @property
    def retention(self) -> Retention:
        return Retention(
            keep_for=timedelta(seconds=self.history_retention_seconds),
            keep_last=self.history_keep_last,
        )

    @model_validator(mode="after")
    def _deadline_outlasts_the_confirmation(self) -> Self:
        if self.deadline_seconds <= self.confirmation_timeout_seconds:
            raise ValueError(
                "ORDERS_DEADLINE_SECONDS must be longer than ORDERS_CONFIRMATION_TIMEOUT_SECONDS "
                f"({self.deadline_seconds:g} ≤ {self.confirmation_timeout_seconds:g}): an order "
                "would be cancelled while its card holder may still confirm"
            )
        return self

    @model_validator(mode="after")
    def _deadline_within_the_keys_acceptance(self) -> Self:
        # The last forward attempt may begin just before the deadline and reach a
        # participant a step's timeout later, on a clock up to the skew ahead.
        latest = self.deadline_seconds + STEP_TIMEOUT.total_seconds() + self.clock_skew_seconds
        window = self.acceptance_window.total_seconds()
        if latest >= window:
            raise ValueError(
                f"ORDERS_DEADLINE_SECONDS ({self.deadline_seconds:g}), plus a step's "
                f"timeout ({STEP_TIMEOUT.total_seconds():g}) and CLOCK_SKEW_SECONDS "
                f"({self.clock_skew_seconds:g}), must be shorter than the participants "
                f"accept an order's keys ({window:g}: KEY_RETENTION_SECONDS - 2 x "
                "CLOCK_SKEW_SECONDS), or an order's last steps would be refused as too late "
                "and the order cancelled; lower ORDERS_DEADLINE_SECONDS or raise "
                "KEY_RETENTION_SECONDS (alike on all four services)"
            )
        return self

    def database_options(self) -> dict[str, Any]:
        """The store's pool on PostgreSQL (``sagakit.open_database`` keeps it fixed)."""
        if make_url(self.database_url).get_backend_name() == "sqlite":
            return {}
        return {**self.pool_options(self.database_url), "pool_size": self.database_connections}

    @model_validator(mode="after")
    def _customer_secret_is_its_own(self) -> Self:
        # A development secret equal to a bearer token would let whoever holds that
        # token sign customer tokens.
        secret = self.customer_jwt_secret
        tokens = (self.service_token, self.admin_token)
        if secret is not None and secret.get_secret_value() in [
            token.get_secret_value() for token in tokens
        ]:
            raise ValueError("CUSTOMER_JWT_SECRET must differ from SERVICE_TOKEN and ADMIN_TOKEN")
        return self

    @model_validator(mode="after")
    def _default_database_url(self) -> Self:
        if not self.database_url:
            object.__setattr__(self, "database_url", default_sqlite_url(self.data_dir, "orders"))
        return self
