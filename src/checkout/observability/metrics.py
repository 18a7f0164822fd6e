"""The order service's saga metrics: the engine's observer, writing to one registry.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (never the global
one), so tests can build several apps in one process. Counts by status come from the
database at scrape time (:meth:`SagaMetrics.refresh_statuses`): they describe every
process's sagas, while the counters and ``checkout_sagas_in_flight`` describe this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from sagakit import (
    AttemptEnd,
    AttemptStart,
    AttemptStatus,
    Direction,
    Pruned,
    SagaState,
    SagaStatus,
)

STEP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SagaMetrics:
    """Implements :class:`sagakit.SagaObserver`; quick, and never raises."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "checkout_sagas_started", "Sagas started by this process.", ["saga"], registry=registry
        )
        self.finished = Counter(
            "checkout_sagas_finished",
            "Sagas this process drove to a terminal status, by outcome.",
            ["saga", "outcome"],
            registry=registry,
        )
        self._in_flight: set[str] = set()
        in_flight = Gauge(
            "checkout_sagas_in_flight",
            "Sagas this process is driving now (not those parked to wait or retry later).",
            registry=registry,
        )
        in_flight.set_function(lambda: len(self._in_flight))
        self.step_seconds = Histogram(
            "checkout_saga_step_duration_seconds",
            "How long one attempt of a step took, by step, direction and attempt status.",
            ["step", "direction", "status"],
            buckets=STEP_SECONDS_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "checkout_saga_step_retries",
            "Attempts of a step beyond its first.",
            ["step", "direction"],
            registry=registry,
        )
        self.compensations = Counter(
            "checkout_saga_compensations",
            "Steps undone (compensation attempts that succeeded).",
            ["step"],
            registry=registry,
        )
        self.claimed = Counter(
            "checkout_saga_lease_takeovers",
            "Sagas this process took over (lease expired or retry due).",
            registry=registry,
        )
        self.leases_lost = Counter(
            "checkout_saga_leases_lost",
            "Sagas this process let go because another took its lease.",
            registry=registry,
        )
        self.by_status = Gauge(
            "checkout_sagas",
            "Sagas in the database by status (all processes), read at scrape time.",
            ["status"],
            registry=registry,
        )
        self.needing_attention = Gauge(
            "checkout_sagas_needing_attention",
            "Sagas whose compensation gave up (status failed): an operator must retry them.",
            registry=registry,
        )
        self.waiting = Gauge(
            "checkout_sagas_waiting",
            "Running or compensating sagas backing off before retrying a step (a participant "
            "down, timeouts), by that step; read at scrape time.",
            ["step"],
            registry=registry,
        )
        self._waited_on: set[str] = set()
        self.pruned_sagas = Counter(
            "checkout_saga_history_pruned_sagas",
            "Finished sagas whose history the retention policy deleted.",
            registry=registry,
        )
        self.pruned_rows = Counter(
            "checkout_saga_history_pruned_rows",
            "Rows deleted with them (sagas, attempts, events, signals).",
            registry=registry,
        )
        self.oldest_finished = Gauge(
            "checkout_saga_history_oldest_finished_timestamp_seconds",
            "When the oldest finished saga still kept finished (NaN: none is kept).",
            registry=registry,
        )
        self.admin_actions = Counter(
            "checkout_admin_actions",
            "Operator retries and aborts through the admin API.",
            ["action"],
            registry=registry,
        )

    def saga_started(self, state: SagaState) -> None:
        self.started.labels(state.name).inc()

    def attempt_finished(self, state: SagaState, start: AttemptStart, end: AttemptEnd) -> None:
        direction = start.direction.value
        seconds = max(end.finished_at - start.started_at, 0.0)
        self.step_seconds.labels(start.step, direction, end.status.value).observe(seconds)
        if start.attempt > 1:
            self.retries.labels(start.step, direction).inc()
        if start.direction is Direction.COMPENSATE and end.status is AttemptStatus.SUCCEEDED:
            self.compensations.labels(start.step).inc()

    def saga_settled(self, state: SagaState) -> None:
        self.finished.labels(state.name, state.status.value).inc()

    def sagas_claimed(self, states: Sequence[SagaState]) -> None:
        self.claimed.inc(len(states))

    def lease_lost(self, saga_id: str) -> None:
        self.leases_lost.inc()

    def history_pruned(self, pruned: Pruned) -> None:
        self.pruned_sagas.inc(pruned.sagas)
        self.pruned_rows.inc(pruned.rows)

    def refresh_oldest_finished(self, finished_at: float | None) -> None:
        """When the oldest finished saga still kept finished (None: none is kept)."""
        self.oldest_finished.set(finished_at if finished_at is not None else float("nan"))

    def saga_held(self, saga_id: str) -> None:
        self._in_flight.add(saga_id)

    def saga_let_go(self, saga_id: str) -> None:
        # Parked sagas (waiting for an event or a long retry) are let go too, so the
        # set holds only what this process drives now, whoever finishes the rest.
        self._in_flight.discard(saga_id)

    def refresh_statuses(
        self, counts: Mapping[str, int], waiting: Mapping[str, int] | None = None
    ) -> None:
        """Set the by-status gauges from the database's counts (missing statuses are 0),
        and the waiting sagas by step (a step no longer waited on drops to 0)."""
        for status in SagaStatus:
            self.by_status.labels(status.value).set(counts.get(status.value, 0))
        self.needing_attention.set(counts.get(SagaStatus.FAILED.value, 0))
        waiting = waiting or {}
        self._waited_on.update(waiting)
        for step in self._waited_on:
            self.waiting.labels(step).set(waiting.get(step, 0))


class StatementsSent(Collector):
    """``checkout_store_statements_total``, read at scrape time from the counters the
    saga store reports to (``sagakit.store.StoreCounters``); this only reports them."""

    def __init__(self, registry: CollectorRegistry, read: Callable[[], int]) -> None:
        self._read = read
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "checkout_store_statements",
            "SQL statements sent to the order service's database: the saga store's and the "
            "orders' own.",
            value=self._read(),
        )
