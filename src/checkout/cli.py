"""The ``checkout`` command: run the system, migrate, run workers, chaos and more.

checkout --help
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from checkout.admin.cli import sagas_app
from checkout.chaos.databases import DEFAULT_POSTGRES_URL
from checkout.stopping import stop_services_on_sigterm

app = typer.Typer(help="Run and operate the checkout built on sagakit.", no_args_is_help=True)
app.add_typer(sagas_app, name="sagas")


@app.callback()
def _every_command() -> None:
    stop_services_on_sigterm()


@app.command()
def run() -> None:
    """Migrate, start the four services and supervise them (like run_services.py)."""
    from checkout.launcher import main

    raise typer.Exit(main())


@app.command()
def migrate() -> None:
    """Apply every migration to the four databases (from the *_DATABASE_URL settings)."""
    from checkout.migrations import upgrade_all

    upgrade_all()
    typer.echo("All four databases are at the latest revision.")


@app.command()
def serve(
    factory: Annotated[str, typer.Argument(help="The app factory, module:function.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve one app with uvicorn, as `checkout run` starts each service."""
    from uvicorn.importer import ImportFromStringError

    from checkout.serving import serve

    try:
        serve(factory, host=host, port=port)
    except ImportFromStringError as error:
        raise typer.BadParameter(str(error), param_hint="FACTORY") from None


@app.command()
def worker() -> None:
    """Run a worker: finishes sagas whose process died and retries that fell due."""
    from checkout.orders.settings import OrdersSettings
    from checkout.serving import settle_heap
    from checkout.worker import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settle_heap()
    asyncio.run(run_worker(OrdersSettings()))


@app.command("customer-token")
def customer_token(
    customer_id: Annotated[str, typer.Argument(help="The customer the token names (its sub).")],
    minutes: Annotated[int, typer.Option(min=1, max=24 * 60, help="How long it is valid.")] = 60,
) -> None:
    """DEVELOPMENT: print a customer token signed with CUSTOMER_JWT_SECRET.

    It carries CUSTOMER_JWT_ISSUER and CUSTOMER_JWT_AUDIENCE as the order service has them:
    TOKEN=$(checkout customer-token cust123). In production the identity provider
    issues customer tokens.
    """
    from datetime import timedelta

    from pydantic import ValidationError

    from checkout.orders.customer_tokens import development_token
    from checkout.orders.identity_settings import CustomerIdentitySettings

    try:
        settings = CustomerIdentitySettings()
        token = development_token(settings, customer_id, lifetime=timedelta(minutes=minutes))
    except ValueError as refused:  # pydantic's ValidationError is a ValueError too
        reason = str(refused)
        if isinstance(refused, ValidationError):
            reason = str(refused.errors()[0]["msg"]).removeprefix("Value error, ")
        typer.echo(f"Cannot mint a customer token: {reason}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)


@app.command()
def chaos(
    sagas: Annotated[int, typer.Option(help="How many orders to place.")] = 300,
    concurrency: Annotated[int, typer.Option(help="Orders in flight at once.")] = 16,
    kills: Annotated[int, typer.Option(help="Orchestrator processes to SIGKILL and restart.")] = 3,
    pauses: Annotated[
        int, typer.Option(help="Orchestrators to SIGSTOP past their lease, then resume.")
    ] = 0,
    db_restarts: Annotated[
        int,
        typer.Option(
            help="Stop the PostgreSQL server (fast and immediate, alternately), keep it down "
            "a few seconds and start it, while orders flow. On a private cluster the run "
            "creates and drops, unless --postgres-url and --i-may-restart-this-server."
        ),
    ] = 0,
    participant_kills: Annotated[
        int, typer.Option(help="Participants (payment, inventory…) to SIGKILL and restart.")
    ] = 0,
    backend: Annotated[str, typer.Option(help="sqlite or postgresql.")] = "sqlite",
    orchestrators: Annotated[
        int, typer.Option(help="Order services (default: 1 on SQLite, 2 on PostgreSQL).")
    ] = 0,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Server for scratch databases (default: 127.0.0.1:5432; with "
            "--db-restarts, a private cluster the run creates).",
            show_default=False,
        ),
    ] = None,
    i_may_restart_this_server: Annotated[
        bool,
        typer.Option(
            "--i-may-restart-this-server",
            help="--db-restarts may stop and start the --postgres-url server, which the run "
            "did not start. Only for a server nobody else is using.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for the order mix and the mayhem.")] = 1,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Keep the services' logs and the databases in this new or empty folder "
            "(PostgreSQL's stay on the server, not dropped) for a look afterwards.",
            file_okay=False,
        ),
    ] = None,
    unsafe_disable_idempotency: Annotated[
        bool,
        typer.Option(
            help="TEST ONLY: participants ignore idempotency keys, to show the "
            "checks catch double effects."
        ),
    ] = False,
) -> None:
    """Place orders under injected faults (late deliveries among them), kills,
    pauses, database restarts, participant kills and restocks; then check the books
    and what the clients were answered.

    Ends with one line of figures. Exits 1 on any violation or any 5xx answer other
    than 503; 2 if the database stayed unreachable or a cluster could not be set up.
    """
    from checkout.chaos.cluster import ClusterUnavailable
    from checkout.chaos.report import report_lines
    from checkout.chaos.retry import DatabaseUnreachable
    from checkout.chaos.run import ChaosConfig, run_chaos

    try:
        config = ChaosConfig(
            sagas=sagas,
            concurrency=concurrency,
            kills=kills,
            pauses=pauses,
            db_restarts=db_restarts,
            participant_kills=participant_kills,
            backend=backend,
            orchestrators=orchestrators or (2 if backend == "postgresql" else 1),
            postgres_url=postgres_url,
            may_restart_server=i_may_restart_this_server,
            seed=seed,
            idempotency_disabled=unsafe_disable_idempotency,
            keep=keep,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        result = run_chaos(config)
    except DatabaseUnreachable as error:
        typer.echo(
            f"chaos: {error}.\nStart it (or check --postgres-url) and run again; --keep DIR "
            "keeps a run's logs and databases to look at.",
            err=True,
        )
        raise typer.Exit(2) from None
    except ClusterUnavailable as error:
        typer.echo(f"chaos: {error}", err=True)
        raise typer.Exit(2) from None
    for line in report_lines(result):
        typer.echo(line)
    raise typer.Exit(1 if result.failed else 0)


@app.command()
def bench(
    orders: Annotated[
        int | None, typer.Option(help="Orders per run (N); 2000 unless given.", show_default=False)
    ] = None,
    concurrency: Annotated[
        list[int] | None,
        typer.Option(
            help="Clients in the closed loop (C); repeat for several. 1 and 32 unless "
            "given; 32 with --soak."
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            help="Runs of each configuration, interleaved; 3 unless given.", show_default=False
        ),
    ] = None,
    configuration: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these: raw, relay, ours-sqlite, ours-postgresql, dbos-sqlite, "
            "dbos-postgresql. With --soak, one of ours-sqlite and ours-postgresql."
        ),
    ] = None,
    postgres_url: Annotated[
        str, typer.Option(help="Server for scratch databases.")
    ] = DEFAULT_POSTGRES_URL,
    connections: Annotated[
        int,
        typer.Option(help="Pooled connections from every orchestrator to each participant."),
    ] = 8,
    json_out: Annotated[
        Path | None, typer.Option(help="Also write the results as JSON here.")
    ] = None,
    soak: Annotated[
        str | None,
        typer.Option(
            help="Instead, soak one configuration this long (90s, 30m, 1h): retention on, "
            "a row every --report-every, the books checked at the end.",
            show_default=False,
        ),
    ] = None,
    report_every: Annotated[
        str, typer.Option(help="With --soak: how often a row is printed.")
    ] = "60s",
    retention: Annotated[
        str,
        typer.Option(help="With --soak: how long sagas' history and idempotency keys are kept."),
    ] = "3m",
) -> None:
    """Throughput and latency of the checkout: raw calls vs our engine vs DBOS; with
    --soak, one configuration over a long run with retention on, then the books."""
    if soak is not None:
        _soak(
            soak,
            report_every=report_every,
            retention=retention,
            configurations=configuration or [],
            concurrency=concurrency or [],
            connections=connections,
            postgres_url=postgres_url,
            json_out=json_out,
            ignored={"--orders": orders, "--rounds": rounds},
        )
    orders = 2000 if orders is None else orders
    rounds = 3 if rounds is None else rounds
    from checkout.bench.results import CONFIGURATIONS, BenchConfig
    from checkout.bench.run import run_benchmark
    from checkout.serving import settle_heap

    unknown = set(configuration or ()) - set(CONFIGURATIONS)
    if unknown:
        raise typer.BadParameter(
            f"unknown configurations {sorted(unknown)}; choose from {', '.join(CONFIGURATIONS)}"
        )
    config = BenchConfig(
        orders=orders,
        concurrency=tuple(concurrency or (1, 32)),
        rounds=rounds,
        configurations=tuple(configuration or CONFIGURATIONS),
        postgres_url=postgres_url,
        connections=connections,
    )
    settle_heap()  # as every service's: the client makes raw's calls itself
    result = run_benchmark(config)
    typer.echo(
        f"N={orders} per run, {rounds} interleaved runs per configuration; "
        "throughput = completed sagas per second; latency end to end"
    )
    typer.echo(result.markdown())
    typer.echo("\nCPU per order, ms (user + system, /proc); ceiling = cores × 1000 / all")
    typer.echo(result.cpu_markdown())
    if statements := result.statements_markdown():
        typer.echo(
            "\nSQL statements our order service sent per order "
            "(checkout_store_statements_total on its /metrics)"
        )
        typer.echo(statements)
    typer.echo(result.conditions())
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_json(), indent=2))
        typer.echo(f"JSON written to {json_out}")


def _soak(
    duration: str,
    *,
    report_every: str,
    retention: str,
    configurations: list[str],
    concurrency: list[int],
    connections: int,
    postgres_url: str,
    json_out: Path | None,
    ignored: dict[str, int | None],
) -> NoReturn:
    """``bench --soak``: one configuration for DURATION, retention on, then the books."""
    from checkout.bench.soak.command import soak, soak_config
    from checkout.serving import settle_heap

    given = [name for name, value in ignored.items() if value is not None]
    if given:
        raise typer.BadParameter(
            f"{' and '.join(given)} {'do' if len(given) > 1 else 'does'} not apply to --soak "
            "(it runs for a time)"
        )
    try:
        config = soak_config(
            duration=duration,
            report_every=report_every,
            retention=retention,
            configurations=configurations,
            concurrency=concurrency,
            connections=connections,
            postgres_url=postgres_url,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    settle_heap()  # as every service's, as the benchmark's client
    raise typer.Exit(soak(config, json_out=json_out))


@app.command("bench-engine")
def bench_engine(
    sagas: Annotated[int, typer.Option(help="Sagas of three instant steps per backend.")] = 500,
    backend: Annotated[
        list[str] | None, typer.Option(help="sqlite and/or postgresql [default: both].")
    ] = None,
    postgres_url: Annotated[
        str, typer.Option(help="Server for a scratch database.")
    ] = DEFAULT_POSTGRES_URL,
) -> None:
    """The engine alone: overhead per step and statements per saga, on the real store."""
    from checkout.bench.engine_overhead import measure_overhead

    typer.echo(
        "| store | sagas | per step p50 ms | per step p99 ms | statements per saga "
        "| sagas/s at C=64 |"
    )
    typer.echo("|---|---|---|---|---|---|")
    for name in backend or ["sqlite", "postgresql"]:
        o = measure_overhead(name, sagas=sagas, postgres_url=postgres_url)
        typer.echo(
            f"| {o.backend} | {o.sagas} | {o.per_step_p50_ms:.2f} | "
            f"{o.per_step_p99_ms:.2f} | {o.statements_per_saga:.0f} | "
            f"{o.sagas_per_second_concurrent:.0f} |"
        )


@app.command("bench-waiting")
def bench_waiting(
    sagas: Annotated[int, typer.Option(help="Waiting sagas in all, per backend.")] = 100_000,
    every: Annotated[int, typer.Option(help="Read memory and time claims every K sagas.")] = (
        10_000
    ),
    backend: Annotated[
        list[str] | None, typer.Option(help="sqlite and/or postgresql [default: both].")
    ] = None,
    postgres_url: Annotated[
        str, typer.Option(help="Server for a scratch database.")
    ] = DEFAULT_POSTGRES_URL,
) -> None:
    """What sagas waiting for an event cost: rows, bytes, CPU; memory and claims as they pile up."""
    from checkout.bench.waiting import WaitingPoint, measure_waiting

    costs = []
    for name in backend or ["sqlite", "postgresql"]:
        typer.echo(f"{name}: | waiting sagas | engine RSS MiB | claim_due ms (median of 20) |")

        def report(point: WaitingPoint) -> None:
            typer.echo(f"| {point.waiting} | {point.rss_mib:.1f} | {point.claim_due_ms:.2f} |")

        costs.append(
            measure_waiting(
                name, sagas=sagas, every=every, postgres_url=postgres_url, on_point=report
            )
        )
    typer.echo(
        "| store | waiting | rows per saga | bytes per saga | CPU s per 10k to park "
        "| RSS growth | claim_due ms first → last |"
    )
    typer.echo("|---|---|---|---|---|---|---|")
    for cost in costs:
        first, last = cost.points[1], cost.points[-1]
        typer.echo(
            f"| {cost.backend} | {cost.waiting} | {cost.rows_per_saga:.1f} | "
            f"{cost.bytes_per_saga:.0f} | {cost.cpu_seconds_per_10k:.1f} | "
            f"{last.rss_mib - first.rss_mib:+.1f} MiB from {first.waiting} | "
            f"{first.claim_due_ms:.2f} → {last.claim_due_ms:.2f} |"
        )


@app.command("bench-memory")
def bench_memory(
    sagas: Annotated[int, typer.Option(help="Sagas in all.")] = 100_000,
    every: Annotated[int, typer.Option(help="Read the order service's RSS every K sagas.")] = (
        10_000
    ),
    concurrency: Annotated[int, typer.Option(help="Clients in the closed loop.")] = 32,
    waiting: Annotated[
        bool,
        typer.Option(help="Every order pays by card_3ds and is never confirmed: they wait."),
    ] = False,
) -> None:
    """The order service's memory (RSS) as sagas pile up, every K sagas."""
    from checkout.bench.memory import MemoryPoint, measure_memory

    typer.echo("| sagas | order service RSS MiB | vs first |")
    typer.echo("|---|---|---|")
    baseline: list[float] = []

    def report(point: MemoryPoint) -> None:
        if not baseline:
            baseline.append(point.rss_mib)
        growth = point.rss_mib / baseline[0] - 1
        typer.echo(f"| {point.sagas} | {point.rss_mib:.1f} | {growth:+.1%} |")

    points = measure_memory(
        sagas=sagas, every=every, concurrency=concurrency, on_point=report, waiting=waiting
    )
    typer.echo(
        f"RSS grew {points[-1].rss_mib / points[0].rss_mib - 1:+.1%} from {points[0].sagas} "
        f"to {points[-1].sagas} sagas"
    )


if __name__ == "__main__":
    app()


@app.command()
def simulate(
    seeds: Annotated[int, typer.Option(help="How many seeds to simulate.")] = 1000,
    first: Annotated[int, typer.Option("--from", help="The first seed.")] = 0,
    seed: Annotated[
        int | None, typer.Option(help="Replay this one seed and print its whole trace.")
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="Processes to simulate on [default: one per core].")
    ] = 0,
    unsafe_forget_refusals: Annotated[
        bool,
        typer.Option(
            help="TEST ONLY: participants do not record their refusals, to show the "
            "simulation finds what that breaks."
        ),
    ] = False,
) -> None:
    """Deterministic simulation: the real saga and participants on a virtual clock, over
    a network that delays, loses, duplicates and holds back messages, with orchestrators
    crashing and pausing; the books checked after every seed.

    Exits 1 if any seed breaks an invariant; each failure prints its trace and the
    command that replays it exactly.
    """
    import os
    from dataclasses import replace

    from checkout.simulation.command import replay, search
    from checkout.simulation.scenario import SIMULATED_KEYS

    rules = replace(SIMULATED_KEYS, remember_refusals=not unsafe_forget_refusals)
    if seed is not None:
        raise typer.Exit(0 if replay(seed, rules=rules, echo=typer.echo) else 1)
    processes = jobs or os.cpu_count() or 1
    clean = search(range(first, first + seeds), jobs=processes, rules=rules, echo=typer.echo)
    raise typer.Exit(0 if clean else 1)
