"""What a soak is asked to do: how long, how hard, and with which retention.

A soak runs one configuration for a long time with retention on, to show what a
benchmark of minutes cannot: whether memory, database size, connections and latency
stay flat once old history and old idempotency keys are being pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from checkout.bench.load import CONNECTIONS_PER_PARTICIPANT
from checkout.chaos.databases import DEFAULT_POSTGRES_URL
from checkout.durations import format_duration
from checkout.inventory.settings import InventorySettings
from checkout.orders.saga import STEP_TIMEOUT
from checkout.orders.settings import OrdersSettings
from checkout.payment.settings import PaymentSettings
from checkout.shipping.settings import ShippingSettings

BACKENDS = {"ours-sqlite": "sqlite", "ours-postgresql": "postgresql"}
"""The configurations a soak runs, and the backend of all four services' databases."""

CLOCK_SKEW = timedelta(seconds=5)
"""Between the processes of one machine: the participants' margin on a key's age."""
SHORTEST_DEADLINE = timedelta(seconds=20)
"""An order deadline shorter than this would cancel orders that a busy machine is
merely slow to finish."""
BASELINE = timedelta(minutes=10)
"""The soak's figures at minute 10 are compared with its end: by then a few minutes'
retention has been pruning for a while, so the system should have stopped growing."""


@dataclass(frozen=True, kw_only=True)
class SoakConfig:
    configuration: str
    """``ours-sqlite`` or ``ours-postgresql``: all four services' databases there."""
    duration: timedelta
    concurrency: int = 32
    report_every: timedelta = timedelta(minutes=1)
    retention: timedelta = timedelta(minutes=3)
    """How long finished sagas' history and participants' idempotency keys are kept."""
    clock_skew: timedelta = CLOCK_SKEW
    connections: int = CONNECTIONS_PER_PARTICIPANT
    postgres_url: str = DEFAULT_POSTGRES_URL
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.configuration not in BACKENDS:
            raise ValueError(
                f"a soak runs ours-sqlite or ours-postgresql, not {self.configuration!r}"
            )
        if self.duration <= timedelta(0):
            raise ValueError("the soak's duration must be positive")
        if not timedelta(0) < self.report_every < self.duration:
            raise ValueError(
                f"--report-every ({format_duration(self.report_every)}) must be shorter than "
                f"the soak ({format_duration(self.duration)}), so that there is a row "
                "before the end"
            )
        if self.concurrency < 1:
            raise ValueError("the soak needs at least one client (--concurrency)")
        if self.deadline < SHORTEST_DEADLINE:
            shortest = SHORTEST_DEADLINE * 3 / 2 + STEP_TIMEOUT + 3 * self.clock_skew
            raise ValueError(
                f"a retention of {format_duration(self.retention)} leaves orders a deadline "
                f"of {format_duration(self.deadline)}, shorter than "
                f"{format_duration(SHORTEST_DEADLINE)}; give --retention "
                f"{format_duration(shortest)} or more"
            )

    @property
    def backend(self) -> str:
        return BACKENDS[self.configuration]

    @property
    def deadline(self) -> timedelta:
        """The orders' deadline: two thirds of the longest the order service accepts.

        Participants accept a key for its retention less twice the clock skew; an
        order's last attempt, begun just before its deadline, must reach them inside
        that, a step's timeout later on a clock the skew ahead (the order service
        refuses a longer deadline). The third left over is the soak's margin."""
        accepted = self.retention - 2 * self.clock_skew - STEP_TIMEOUT - self.clock_skew
        return timedelta(seconds=max(0, int(accepted.total_seconds() * 2 / 3)))

    @property
    def confirmation_timeout(self) -> timedelta:
        """Shorter than the deadline, as the order service requires (the soak's
        orders pay by card and never wait for a holder, so it is never reached)."""
        return timedelta(seconds=int(self.deadline.total_seconds() / 2))

    @property
    def prune_every(self) -> timedelta:
        """Six prunes per retention period, so nothing outlives it by much."""
        return timedelta(seconds=max(1, int(self.retention.total_seconds() / 6)))

    @property
    def shortened(self) -> bool:
        """Whether the soak ends by minute 10, which its first third then stands in for."""
        return self.duration <= BASELINE

    @property
    def baseline(self) -> timedelta:
        """Where the end is compared from: minute 10, or a shorter soak's first third."""
        return self.duration / 3 if self.shortened else BASELINE

    def environment(self) -> dict[str, str]:
        """The retention settings, for every service: each reads its own and ignores
        the others (the order service also reads the participants' key retention, to
        check its deadline against it)."""

        def seconds(span: timedelta) -> str:
            return f"{span.total_seconds():g}"

        return {
            "ORDERS_HISTORY_RETENTION_SECONDS": seconds(self.retention),
            "ORDERS_PRUNE_INTERVAL_SECONDS": seconds(self.prune_every),
            "KEY_RETENTION_SECONDS": seconds(self.retention),
            "CLOCK_SKEW_SECONDS": seconds(self.clock_skew),
            "KEY_PRUNE_INTERVAL_SECONDS": seconds(self.prune_every),
            "ORDERS_DEADLINE_SECONDS": seconds(self.deadline),
            "ORDERS_CONFIRMATION_TIMEOUT_SECONDS": seconds(self.confirmation_timeout),
        }


def check_services_accept(config: SoakConfig) -> None:
    """Raise ValueError with the service's own reason if one of the four would refuse
    the soak's settings: better said now than by a service that will not start."""
    tokens = {"SERVICE_TOKEN": "soak-service", "ADMIN_TOKEN": "soak-admin"}
    services = {
        "order": OrdersSettings,
        "payment": PaymentSettings,
        "inventory": InventorySettings,
        "shipping": ShippingSettings,
    }
    for name, settings in services.items():
        try:
            settings(**tokens, **config.environment())
        except ValidationError as refused:
            reason = str(refused.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ValueError(
                f"the {name} service would refuse the soak's settings for a retention of "
                f"{format_duration(config.retention)}: {reason}"
            ) from None
