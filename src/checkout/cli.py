"""The ``checkout`` command: run the system, migrate, run workers, chaos and more.

checkout --help
"""

from __future__ import annotations

import asyncio
import logging

import typer

from checkout.chaos.databases import DEFAULT_POSTGRES_URL

app = typer.Typer(help="Run and operate the checkout built on sagakit.", no_args_is_help=True)


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
def worker() -> None:
    """Run a worker: finishes sagas whose process died and retries that fell due."""
    from checkout.orders.settings import OrdersSettings
    from checkout.worker import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_worker(OrdersSettings()))


@app.command()
def chaos(
    sagas: int = typer.Option(300, help="How many orders to place."),
    concurrency: int = typer.Option(16, help="Orders in flight at once."),
    kills: int = typer.Option(3, help="Orchestrator processes to SIGKILL and restart."),
    pauses: int = typer.Option(0, help="Orchestrators to SIGSTOP past their lease, then resume."),
    backend: str = typer.Option("sqlite", help="sqlite or postgresql."),
    orchestrators: int = typer.Option(
        0, help="Order services (default: 1 on SQLite, 2 on PostgreSQL)."
    ),
    postgres_url: str = typer.Option(DEFAULT_POSTGRES_URL, help="Server for scratch databases."),
    seed: int = typer.Option(1, help="Seed for the order mix and the mayhem."),
    unsafe_disable_idempotency: bool = typer.Option(
        False,
        help="TEST ONLY: participants ignore idempotency keys, to show the checks "
        "catch double effects.",
    ),
) -> None:
    """Place orders under injected faults, kills and pauses; then check the books.

    Ends with one line of figures and exits 1 on any violation.
    """
    from checkout.chaos.run import ChaosConfig, run_chaos

    config = ChaosConfig(
        sagas=sagas,
        concurrency=concurrency,
        kills=kills,
        pauses=pauses,
        backend=backend,
        orchestrators=orchestrators or (2 if backend == "postgresql" else 1),
        postgres_url=postgres_url,
        seed=seed,
        idempotency_disabled=unsafe_disable_idempotency,
    )
    result = run_chaos(config)
    for violation in result.violations[:20]:
        typer.echo(f"  violation: {violation}")
    if len(result.violations) > 20:
        typer.echo(f"  … and {len(result.violations) - 20} more")
    typer.echo(f"  outcomes: {dict(result.books.statuses)}")
    typer.echo(result.summary())
    raise typer.Exit(1 if result.violations else 0)


if __name__ == "__main__":
    app()
