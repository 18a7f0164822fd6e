"""The ``checkout`` command: run the system, migrate, run workers, chaos and more.

    checkout --help
"""

from __future__ import annotations

import asyncio
import logging

import typer

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


if __name__ == "__main__":
    app()
