"""The benchmark run: one set of participants, every orchestrator beside them, and
interleaved rounds so a slow minute of the machine hurts every configuration alike.

Configurations:
- ``raw``: the participant calls made directly (the floor);
- ``relay``: the same calls made by a service behind ``POST /orders`` that records
  nothing: the floor for any orchestrator with an HTTP API (one more exchange);
- ``ours-sqlite`` / ``ours-postgresql``: POST /orders on our order service, its saga
  store on SQLite or PostgreSQL;
- ``dbos-sqlite`` / ``dbos-postgresql``: the same saga as a DBOS workflow behind the
  same POST /orders, its system database on SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from checkout.bench import cpu
from checkout.bench.environment import describe, sqlite_durability
from checkout.bench.load import (
    CONNECTIONS_VARIABLE,
    PARTICIPANTS,
    Measurement,
    closed_loop,
    participant_clients,
    raw_calls,
    statements_sent,
    stock_products,
    through_order_service,
)
from checkout.bench.results import CLIENT, ORCHESTRATOR, BenchConfig, BenchResult
from checkout.chaos.databases import admin_statements
from checkout.migrations import upgrade_all
from checkout.processes import System, free_port, generated_tokens
from checkout.progress_bars import progress_bar
from checkout.stopping import run_until_stopped
from sagakit.http import ParticipantCaller

DBOS_APP = "checkout.bench.dbos_app:create_app"
RELAY_APP = "checkout.bench.relay_app:create_app"


def run_benchmark(config: BenchConfig, *, workdir: Path | None = None) -> BenchResult:
    uses_postgres = any(c.endswith("postgresql") for c in config.configurations)
    result = BenchResult(config, describe(config.postgres_url if uses_postgres else None))
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        folder = workdir or Path(scratch)
        databases = _databases(config, folder)
        system = _system(config, folder, databases)
        try:
            system.check_ports()
            system.start()
            system.wait_healthy(timeout=60)
            result.environment["durability"] = _sqlite_durability(config, databases)
            run_until_stopped(_measure(config, system, result))
        finally:
            system.stop()
            if databases["postgres_created"]:
                asyncio.run(
                    admin_statements(
                        config.postgres_url,
                        [
                            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                            for name in databases["postgres_created"]
                        ],
                    )
                )
    return result


def _databases(config: BenchConfig, folder: Path) -> dict[str, Any]:
    sqlite = {
        name: f"sqlite+aiosqlite:///{folder / name}.db"
        for name in ("payment", "inventory", "shipping")
    }
    created: list[str] = []
    found: dict[str, Any] = {"participants": sqlite, "postgres_created": created}
    found["ours-sqlite"] = f"sqlite+aiosqlite:///{folder / 'orders'}.db"
    found["dbos-sqlite"] = f"sqlite:///{folder / 'dbos'}.db"
    upgrade_all({**sqlite, "orders": found["ours-sqlite"]})
    if any(c.endswith("postgresql") for c in config.configurations):
        prefix = f"bench_{uuid.uuid4().hex[:8]}"
        created.extend([f"{prefix}_orders", f"{prefix}_dbos"])
        asyncio.run(
            admin_statements(config.postgres_url, [f'CREATE DATABASE "{n}"' for n in created])
        )
        base = make_url(config.postgres_url)
        found["ours-postgresql"] = base.set(database=created[0]).render_as_string(False)
        found["dbos-postgresql"] = base.set(
            drivername="postgresql", database=created[1]
        ).render_as_string(False)
        upgrade_all({"orders": found["ours-postgresql"]})
    return found


def _sqlite_durability(config: BenchConfig, databases: dict[str, Any]) -> dict[str, str]:
    ours = {f"{name}_sqlite": url for name, url in databases["participants"].items()}
    if "ours-sqlite" in config.configurations:
        ours["ours_sqlite"] = databases["ours-sqlite"]
    dbos = {}
    if "dbos-sqlite" in config.configurations:
        dbos["dbos_sqlite"] = databases["dbos-sqlite"]
    return sqlite_durability(ours, dbos)


def _system(config: BenchConfig, folder: Path, databases: dict[str, Any]) -> System:
    participants = databases["participants"]
    env = {
        **generated_tokens(),
        "CHECKOUT_DATA_DIR": str(folder),
        CONNECTIONS_VARIABLE: str(config.connections),
        **{f"{name.upper()}_DATABASE_URL": url for name, url in participants.items()},
    }
    ports = {name: free_port() for name in ("payment", "inventory", "shipping")}
    process_env: dict[str, dict[str, str]] = {}
    for name in config.configurations:
        if name == "raw":
            continue
        process = _process(name)
        ports[process] = free_port()
        if name == "relay":
            continue
        url_key = "ORDERS_DATABASE_URL" if name.startswith("ours") else "DBOS_SYSTEM_DATABASE_URL"
        process_env[process] = {url_key: databases[name]}
    return System(
        env=env,
        ports=ports,
        log_dir=folder / "logs",
        process_env=process_env,
        apps={"bench": DBOS_APP, "relay": RELAY_APP},
    )


def _cpu_columns(name: str, spent: dict[str, float]) -> dict[str, float]:
    """The processes that served this configuration, its orchestrator under one name."""
    columns = {CLIENT: spent[CLIENT]}
    if name != "raw":
        columns[ORCHESTRATOR] = spent[_process(name)]
    columns.update({p: spent[p] for p in PARTICIPANTS})
    if cpu.POSTGRESQL in spent:
        columns[cpu.POSTGRESQL] = spent[cpu.POSTGRESQL]
    return columns


def _process(name: str) -> str:
    if name == "relay":
        return name
    return f"orders-{name}" if name.startswith("ours") else f"bench-{name}"


async def _measure(config: BenchConfig, system: System, result: BenchResult) -> None:
    direct = participant_clients({s: system.url(s) for s in PARTICIPANTS}, config.connections)
    try:
        await _measure_with(config, system, result, direct)
    finally:
        for participant in direct.values():
            await participant.aclose()


async def _measure_with(
    config: BenchConfig,
    system: System,
    result: BenchResult,
    direct: dict[str, ParticipantCaller],
) -> None:
    # Placing an order holds a connection until its saga settles: one per client.
    limits = httpx.Limits(max_connections=max(config.concurrency) + 8)
    async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
        await stock_products(client, system.url("inventory"), system.env["ADMIN_TOKEN"])
        targets: dict[str, Callable[[int], Any]] = {}
        for name in config.configurations:
            if name == "raw":
                targets[name] = raw_calls(direct, system.env["SERVICE_TOKEN"])
            else:
                targets[name] = through_order_service(client, system.url(_process(name)))
        for place in targets.values():
            await closed_loop(config.warmup, 4, place)
        total = len(targets) * len(config.concurrency) * config.rounds * config.orders
        pids = {CLIENT: os.getpid(), **{n: p.pid for n, p in system.processes.items()}}
        with progress_bar(show=config.show_progress) as progress:
            task = progress.add_task("benchmark", total=total)
            for round_number in range(1, config.rounds + 1):
                for concurrency in config.concurrency:
                    for name, place in targets.items():
                        progress.update(
                            task, description=f"round {round_number}: {name} C={concurrency}"
                        )
                        measured = await _one_run(
                            config,
                            name,
                            place,
                            concurrency,
                            pids=pids,
                            ours=system.url(_process(name)) if name.startswith("ours-") else None,
                            client=client,
                            on_done=lambda: progress.advance(task),
                        )
                        result.measurements.setdefault((name, concurrency), []).append(measured)


async def _one_run(
    config: BenchConfig,
    name: str,
    place: Callable[[int], Any],
    concurrency: int,
    *,
    pids: dict[str, int],
    ours: str | None,
    client: httpx.AsyncClient,
    on_done: Callable[[], None],
) -> Measurement:
    """One configuration's N orders, with the CPU every process spent and, for our order
    service (``ours``, its URL), the SQL statements it sent."""
    include_postgres = name.endswith("postgresql")
    statements_before = await statements_sent(client, ours) if ours else 0.0
    before = cpu.snapshot(pids, include_postgres=include_postgres)
    measured = await closed_loop(config.orders, concurrency, place, on_done=on_done)
    after = cpu.snapshot(pids, include_postgres=include_postgres)
    spent = _cpu_columns(name, cpu.per_order_ms(before, after, config.orders))
    measured = replace(measured, cpu_ms_per_order=spent)
    if ours:
        sent = await statements_sent(client, ours) - statements_before
        measured = replace(measured, statements_per_order=sent / config.orders)
    return measured
