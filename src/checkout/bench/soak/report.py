"""A soak's rows and its comparisons, computed from samples: no I/O here.

Each row covers the orders finished since the row before (by the time their answer
came), and the state of the system when it was taken: the services' memory, their
open database connections and the databases' size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SERVICE_ORDER = ("orders", "payment", "inventory", "shipping")
ALL_FOUR = "all four"
PRUNED_TABLES = frozenset(
    {
        "sagakit_sagas",
        "sagakit_attempts",
        "sagakit_events",
        "sagakit_signals",
        "answers",
        "compensated_orders",
    }
)
"""What retention deletes: finished sagas' history in the orders database, expired
answers and tombstones in the participants'. The rest (orders, payments, reservations,
shipments…) are business records, kept for good: they grow with every order."""
FREE_PAGES = "(free pages)"
"""SQLite's pages that deletes emptied, kept in the file for later writes."""
SMALL_TABLE_BYTES = 100_000
"""Tables smaller than this at both ends are left out of the breakdown."""


def percentile(values: Sequence[float], p: float) -> float:
    """The same rank as the benchmark's (``Measurement.percentile``); 0 if empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def change(before: float, after: float) -> float | None:
    """``after`` relative to ``before`` (0.05 is 5% more); None if ``before`` is 0."""
    return after / before - 1 if before else None


@dataclass(frozen=True, kw_only=True)
class Sample:
    elapsed: float
    """Seconds since the load began, when the row was taken."""
    seconds: float
    """How long the row's interval lasted."""
    latencies: tuple[float, ...]
    """Seconds from placing to a final answer, for each order finished in the interval."""
    retried: int
    """Answers in the interval that the clients had to retry (503, 409, no answer)."""
    finished: int
    """Orders finished since the load began."""
    rss_mib: Mapping[str, float]
    connections: Mapping[str, int] | None
    """Open database connections by service; None where they cannot be counted."""
    database_bytes: int
    """The four services' databases together."""
    load: float = 0.0
    """The machine's load average over the last minute: the soak shares its cores."""
    tables: Mapping[str, int] | None = None
    """Bytes by ``service.table``, read at the baseline row and at the end only."""
    final: bool = False

    @property
    def orders(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.orders / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_order(self) -> float | None:
        return self.database_bytes / self.finished if self.finished else None


def elapsed_text(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def header() -> list[str]:
    return [
        "| elapsed | orders | orders/s | p50 ms | p99 ms | retried "
        "| RSS MiB orders / payment / inventory / shipping "
        "| DB connections orders / payment / inventory / shipping "
        "| DB MiB | DB bytes per finished order | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]


def row(sample: Sample) -> str:
    rss = " / ".join(f"{sample.rss_mib[name]:.1f}" for name in SERVICE_ORDER)
    connections = "n/a"
    if sample.connections is not None:
        connections = " / ".join(str(sample.connections[name]) for name in SERVICE_ORDER)
    per_order = sample.bytes_per_order
    when = elapsed_text(sample.elapsed) + (" (end)" if sample.final else "")
    return (
        f"| {when} | {sample.orders} | {sample.throughput:.1f} | "
        f"{percentile(sample.latencies, 50) * 1000:.1f} | "
        f"{percentile(sample.latencies, 99) * 1000:.1f} | {sample.retried} | {rss} | "
        f"{connections} | {sample.database_bytes / 2**20:.1f} | "
        f"{'—' if per_order is None else f'{per_order:,.0f}'} | {sample.load:.1f} |"
    )


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """What the issue's "Done when" asks of a soak: did it stop growing?"""

    baseline_seconds: float
    """Where the comparisons start: minute 10, or a third of a shorter soak."""
    row_seconds: float
    """When the row that stands for the baseline was taken: the first at or after it."""
    shortened: bool
    """The soak did not last past minute 10: its first third stands in for it."""
    size: tuple[float, float]
    """The databases' bytes at the baseline row and at the end."""
    memory: Mapping[str, tuple[float, float]]
    """RSS MiB by service (and all four) at the first row and at the end."""
    p99: tuple[float, float]
    """p99 seconds over every order up to the baseline, and in the last interval."""
    tables: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Bytes by ``service.table`` at the baseline row and at the end, where both were read."""
    orders_between: int = 0
    """Orders finished between the baseline row and the end."""

    def lines(self) -> list[str]:
        since = f"minute {self.baseline_seconds / 60:g}"
        if self.shortened:
            since = f"the first third (to the row at {elapsed_text(self.row_seconds)})"
            lines = [
                "The soak did not last longer than 10 minutes: its first third stands in "
                "for the first 10 minutes below."
            ]
        else:
            lines = []
        lines.append(
            f"Database size, {since} → end: {self.size[0] / 2**20:.1f} → "
            f"{self.size[1] / 2**20:.1f} MiB ({_percent(*self.size)})"
        )
        memory = ", ".join(
            f"{name} {first:.1f} → {last:.1f} MiB ({_percent(first, last)})"
            for name, (first, last) in self.memory.items()
        )
        lines.append(f"Memory (RSS), first row → end: {memory}")
        first = "the first 10 minutes" if not self.shortened else since
        lines.append(
            f"p99 of POST /orders, {first} → the last interval: {self.p99[0] * 1000:.1f} → "
            f"{self.p99[1] * 1000:.1f} ms ({_percent(*self.p99)})"
        )
        return lines + self._table_lines(elapsed_text(self.row_seconds))

    def _table_lines(self, since: str) -> list[str]:
        if not self.tables:
            return []
        groups = {
            "Tables retention prunes (saga history, answers, tombstones)": _pruned,
            "Tables kept for good (orders, payments, reservations, shipments…)": _kept,
        }
        if any(_free(name) for name in self.tables):
            groups["SQLite's free pages (what deletes emptied, reused by later writes)"] = _free
        lines = []
        for title, member in groups.items():
            chosen = [sizes for name, sizes in self.tables.items() if member(name)]
            before, after = sum(s[0] for s in chosen), sum(s[1] for s in chosen)
            lines.append(
                f"{title}, {since} → end: {before / 2**20:.1f} → {after / 2**20:.1f} MiB "
                f"({_percent(before, after)}), {self._per_order(before, after)} bytes per "
                "order finished in between"
            )
        lines += [
            "",
            f"| table (with its indexes) | MiB at {since} | MiB at the end "
            "| bytes per order in between |",
            "|---|---|---|---|",
        ]
        ranked = sorted(self.tables.items(), key=lambda item: -item[1][1])
        for name, (before, after) in ranked:
            if max(before, after) < SMALL_TABLE_BYTES and not _pruned(name):
                continue
            mark = " (pruned)" if _pruned(name) else ""
            lines.append(
                f"| {name}{mark} | {before / 2**20:.1f} | {after / 2**20:.1f} | "
                f"{self._per_order(before, after)} |"
            )
        return lines

    def _per_order(self, before: int, after: int) -> str:
        if not self.orders_between:
            return "n/a"
        return f"{(after - before) / self.orders_between:,.0f}"

    def as_json(self) -> dict[str, Any]:
        return {
            "baseline_seconds": self.baseline_seconds,
            "baseline_row_seconds": self.row_seconds,
            "shortened": self.shortened,
            "database_bytes": {"baseline": self.size[0], "end": self.size[1]},
            "database_size_change": change(*self.size),
            "rss_mib": {
                name: {"first": first, "end": last, "change": change(first, last)}
                for name, (first, last) in self.memory.items()
            },
            "p99_ms": {"baseline": self.p99[0] * 1000, "last_interval": self.p99[1] * 1000},
            "p99_change": change(*self.p99),
            "table_bytes": {
                name: {"baseline": before, "end": after}
                for name, (before, after) in self.tables.items()
            },
            "orders_between": self.orders_between,
        }


def compare(samples: Sequence[Sample], *, baseline_seconds: float, shortened: bool) -> Comparison:
    """The end against the first row at or after ``baseline_seconds`` (sizes), the first
    row (memory) and every order finished up to that baseline row (p99)."""
    if not samples:
        raise ValueError("a soak with no rows has nothing to compare")
    last = samples[-1]
    at = next((i for i, s in enumerate(samples) if s.elapsed >= baseline_seconds), len(samples) - 1)
    early = [latency for sample in samples[: at + 1] for latency in sample.latencies]
    first = samples[0]
    memory = {name: (first.rss_mib[name], last.rss_mib[name]) for name in SERVICE_ORDER}
    memory[ALL_FOUR] = (sum(first.rss_mib.values()), sum(last.rss_mib.values()))
    before, after = samples[at].tables or {}, last.tables or {}
    return Comparison(
        baseline_seconds=baseline_seconds,
        row_seconds=samples[at].elapsed,
        shortened=shortened,
        size=(samples[at].database_bytes, last.database_bytes),
        memory=memory,
        p99=(percentile(early, 99), percentile(last.latencies, 99)),
        tables={name: (before[name], after[name]) for name in before.keys() & after.keys()},
        orders_between=last.finished - samples[at].finished,
    )


def _pruned(name: str) -> bool:
    return name.split(".", 1)[-1] in PRUNED_TABLES


def _free(name: str) -> bool:
    return name.endswith(FREE_PAGES)


def _kept(name: str) -> bool:
    return not _pruned(name) and not _free(name)


def _percent(before: float, after: float) -> str:
    relative = change(before, after)
    return "n/a" if relative is None else f"{relative:+.1%}"
