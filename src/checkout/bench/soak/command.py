"""``checkout bench --soak``: the options read, the soak run, its rows and verdict
printed as markdown (so they paste into BENCHMARKS.md as they are)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from checkout.bench.environment import describe
from checkout.bench.soak.config import SoakConfig, check_services_accept
from checkout.bench.soak.report import Sample, header, percentile, row
from checkout.bench.soak.run import SoakResult, run_soak
from checkout.durations import format_duration, parse_duration

Echo = Callable[[str], None]
SHOWN_VIOLATIONS = 20


def _print(line: str) -> None:
    # Not typer.echo: click writes to the terminal's binary buffer, past rich's live
    # display, which then draws its bar over the rows; print goes through it.
    print(line, flush=True)


def soak_config(
    *,
    duration: str,
    report_every: str,
    retention: str,
    configurations: Sequence[str],
    concurrency: Sequence[int],
    connections: int,
    postgres_url: str,
) -> SoakConfig:
    """The soak the options ask for; ValueError says which option is wrong and why."""
    if len(configurations) != 1:
        raise ValueError(
            "--soak runs one configuration: --configuration ours-sqlite or ours-postgresql"
        )
    if len(concurrency) > 1:
        raise ValueError("--soak runs at one concurrency: give --concurrency once")
    config = SoakConfig(
        configuration=configurations[0],
        duration=parse_duration(duration),
        report_every=parse_duration(report_every),
        retention=parse_duration(retention),
        concurrency=concurrency[0] if concurrency else 32,
        connections=connections,
        postgres_url=postgres_url,
    )
    check_services_accept(config)
    return config


def soak(config: SoakConfig, *, echo: Echo = _print, json_out: Path | None = None) -> int:
    """Run the soak, print as it goes; the exit code: 1 if the books are wrong or an
    answer was one no healthy service gives."""
    environment = describe(config.postgres_url if config.backend == "postgresql" else None)
    for line in _preamble(config, environment):
        echo(line)
    for line in header():
        echo(line)
    result = run_soak(config, on_row=lambda sample: echo(row(sample)))
    echo("")
    for line in [*result.comparison.lines(), *_verdict(result)]:
        echo(line)
    if json_out is not None:
        json_out.write_text(json.dumps(_as_json(result, environment), indent=2))
        echo(f"JSON written to {json_out}")
    return 1 if result.failed else 0


def _preamble(config: SoakConfig, environment: dict[str, Any]) -> list[str]:
    settings = " ".join(f"{name}={value}" for name, value in config.environment().items())
    return [
        f"Soak of {config.configuration} (all four services' databases on "
        f"{config.backend}) for {format_duration(config.duration)}: C={config.concurrency} "
        "customers in a closed loop of POST /orders (Prefer: wait, an Idempotency-Key each), "
        f"a row every {format_duration(config.report_every)} for the orders finished in it.",
        f"Retention {format_duration(config.retention)}: {settings}",
        f"{environment['cores']} cores ({environment['cpu']}), Python {environment['python']}"
        + "".join(f", {k}={v}" for k, v in environment.get("postgresql", {}).items()),
        *_autovacuum_warning(environment),
        "",
    ]


def _autovacuum_warning(environment: dict[str, Any]) -> list[str]:
    if environment.get("postgresql", {}).get("autovacuum") != "off":
        return []
    return [
        "Autovacuum is off on this PostgreSQL server: the space of deleted and updated rows "
        "is not made reusable (only VACUUM does that), so the databases keep growing "
        "whatever retention deletes. Turn it on for a soak whose sizes mean something."
    ]


def _verdict(result: SoakResult) -> list[str]:
    answered = ", ".join(f"{count} {status}" for status, count in result.answered.most_common())
    lines = [
        f"Orders answered: {answered or 'none'}; {result.pruned} of them no longer had a "
        "saga in the orders database at the end (retention deleted it).",
        f"The four databases held {result.empty_bytes / 2**20:.1f} MiB before the first "
        "order (migrated, empty): that much of every row's bytes per order is fixed.",
    ]
    violations = result.books.violations
    if violations:
        lines.append(f"Books: WRONG, {len(violations)} violations:")
        lines.extend(f"- {violation}" for violation in violations[:SHOWN_VIOLATIONS])
        if len(violations) > SHOWN_VIOLATIONS:
            lines.append(f"- … and {len(violations) - SHOWN_VIOLATIONS} more")
    else:
        judged = sum(result.books.statuses.values())
        lines.append(
            "Books: right (stock conserved per product; payments net of refunds and "
            f"shipments right for each of the {judged} orders)."
        )
    if result.unexpected:
        lines.append(
            f"Unexpected answers: {len(result.unexpected)} (a 5xx other than 503, no answer, "
            "a refusal, an order never final):"
        )
        lines.extend(f"- {answer}" for answer in result.unexpected[:SHOWN_VIOLATIONS])
    return lines


def _as_json(result: SoakResult, environment: dict[str, Any]) -> dict[str, Any]:
    config = result.config
    return {
        "config": {
            "configuration": config.configuration,
            "duration_seconds": config.duration.total_seconds(),
            "concurrency": config.concurrency,
            "report_every_seconds": config.report_every.total_seconds(),
            "environment": config.environment(),
        },
        "machine": environment,
        "rows": [_sample_json(sample) for sample in result.samples],
        "comparison": result.comparison.as_json(),
        "answered": dict(result.answered),
        "pruned": result.pruned,
        "empty_database_bytes": result.empty_bytes,
        "violations": result.books.violations,
        "unexpected": result.unexpected,
    }


def _sample_json(sample: Sample) -> dict[str, Any]:
    return {
        "elapsed_seconds": sample.elapsed,
        "orders": sample.orders,
        "orders_per_second": sample.throughput,
        "p50_ms": percentile(sample.latencies, 50) * 1000,
        "p99_ms": percentile(sample.latencies, 99) * 1000,
        "retried": sample.retried,
        "rss_mib": dict(sample.rss_mib),
        "connections": None if sample.connections is None else dict(sample.connections),
        "database_bytes": sample.database_bytes,
        "finished": sample.finished,
        "load": sample.load,
        "table_bytes": None if sample.tables is None else dict(sample.tables),
        "final": sample.final,
    }
