"""What a benchmark run is asked to do, what it found, and how that is printed:
the results table with the ratios computed within the run, the CPU each process spent
per order, the statements ours sent, and the machine and durability it ran under."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from checkout.bench import cpu
from checkout.bench.load import (
    CONNECTIONS_PER_PARTICIPANT,
    PARTICIPANTS,
    Measurement,
    summary,
)
from checkout.chaos.databases import DEFAULT_POSTGRES_URL

CONFIGURATIONS = (
    "raw",
    "relay",
    "ours-sqlite",
    "ours-postgresql",
    "dbos-sqlite",
    "dbos-postgresql",
)
CLIENT = "client"
ORCHESTRATOR = "orchestrator"


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    orders: int = 2000
    concurrency: tuple[int, ...] = (1, 32)
    rounds: int = 3
    warmup: int = 30
    connections: int = CONNECTIONS_PER_PARTICIPANT
    configurations: tuple[str, ...] = CONFIGURATIONS
    postgres_url: str = DEFAULT_POSTGRES_URL
    show_progress: bool = True


@dataclass
class BenchResult:
    config: BenchConfig
    environment: dict[str, Any]
    measurements: dict[tuple[str, int], list[Measurement]] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for (name, concurrency), runs in sorted(
            self.measurements.items(), key=lambda item: (item[0][1], item[0][0])
        ):
            row: dict[str, Any] = {
                "configuration": name,
                "concurrency": concurrency,
                "runs": len(runs),
                **summary(runs),
                "cpu_ms_per_order": _median_cpu(runs),
            }
            counted = [m.statements_per_order for m in runs if m.statements_per_order is not None]
            if counted:
                row["statements_per_order"] = statistics.median(counted)
            rows.append(row)
        self._ratios(rows)
        return rows

    def _ratios(self, rows: list[dict[str, Any]]) -> None:
        by_key = {(r["configuration"], r["concurrency"]): r for r in rows}
        for row in rows:
            name, concurrency = row["configuration"], row["concurrency"]
            if not name.startswith("ours-"):
                continue
            backend = name.removeprefix("ours-")
            raw = by_key.get(("raw", concurrency))
            relay = by_key.get(("relay", concurrency))
            dbos = by_key.get((f"dbos-{backend}", concurrency))
            if raw:
                row["vs_raw_throughput"] = row["throughput_median"] / raw["throughput_median"]
                row["vs_raw_p99"] = row["p99_ms"] / raw["p99_ms"]
            if relay:
                row["vs_relay_throughput"] = row["throughput_median"] / relay["throughput_median"]
            if dbos:
                row["vs_dbos_throughput"] = row["throughput_median"] / dbos["throughput_median"]

    def markdown(self) -> str:
        lines = [
            "| configuration | C | runs | sagas/s median (min–max) | p50 ms | p95 ms | p99 ms "
            "| ours/raw thr. | ours/raw p99 | ours/relay thr. | ours/DBOS thr. |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.table():

            def ratio(key: str, r: dict[str, Any] = r) -> str:
                return f"{r[key]:.2f}×" if key in r else ""

            lines.append(
                f"| {r['configuration']} | {r['concurrency']} | {r['runs']} | "
                f"{r['throughput_median']:.1f} ({r['throughput_min']:.1f}–"
                f"{r['throughput_max']:.1f}) | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {ratio('vs_raw_throughput')} | {ratio('vs_raw_p99')} | "
                f"{ratio('vs_relay_throughput')} | {ratio('vs_dbos_throughput')} |"
            )
        return "\n".join(lines)

    def cpu_markdown(self) -> str:
        """Where the CPU went: milliseconds per order in each process (medians)."""
        lines = [
            "| configuration | C | client | orchestrator | payment | inventory | shipping "
            "| PostgreSQL | all | ceiling sagas/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        cores = self.environment.get("cores") or 1
        for r in self.table():
            spent = r["cpu_ms_per_order"]
            if not spent:
                continue
            total = sum(spent.values())
            cells = [
                f"{spent[key]:.1f}" if key in spent else "—"
                for key in (CLIENT, ORCHESTRATOR, *PARTICIPANTS, cpu.POSTGRESQL)
            ]
            lines.append(
                f"| {r['configuration']} | {r['concurrency']} | {' | '.join(cells)} | "
                f"{total:.1f} | {cores * 1000 / total:.0f} |"
            )
        return "\n".join(lines)

    def statements_markdown(self) -> str:
        """SQL statements our order service sent per order (medians over the rounds)."""
        lines = ["| configuration | C | statements per order |", "|---|---|---|"]
        for r in self.table():
            if "statements_per_order" in r:
                lines.append(
                    f"| {r['configuration']} | {r['concurrency']} | "
                    f"{r['statements_per_order']:.1f} |"
                )
        return "\n".join(lines) if len(lines) > 2 else ""

    def conditions(self) -> str:
        """Where the run happened: the machine and each database's durability."""
        env = self.environment
        lines = [f"{env['cores']} cores ({env['cpu']}), Python {env['python']}"]
        for name, setting in env.get("durability", {}).items():
            lines.append(f"- {name}: {setting}")
        if "postgresql" in env:
            settings = ", ".join(f"{k}={v}" for k, v in env["postgresql"].items())
            lines.append(f"- postgresql (ours and DBOS): {settings}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "config": {k: v for k, v in self.config.__dict__.items()},
            "environment": self.environment,
            "results": self.table(),
        }


def _median_cpu(runs: list[Measurement]) -> dict[str, float]:
    names = set.intersection(*(set(m.cpu_ms_per_order) for m in runs)) if runs else set()
    return {
        name: statistics.median(m.cpu_ms_per_order[name] for m in runs) for name in sorted(names)
    }
