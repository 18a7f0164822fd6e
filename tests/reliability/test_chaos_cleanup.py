"""A chaos run leaves nothing behind, however it ends, unless asked to keep it.

Its scratch databases are dropped after a failed migration, a failed run, Ctrl-C or
SIGTERM; ``keep`` leaves the logs and databases, and says where they are.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from checkout.chaos.databases import drop_databases, scratch_databases
from checkout.chaos.run import ChaosConfig, run_chaos
from checkout.migrations import DATABASES
from sagakit.database import open_database
from tests.conftest import POSTGRES_ADMIN_URL, test_database_backend
from tests.e2e.test_cli_sigterm import _alive, _children

pytestmark = pytest.mark.e2e
postgresql_only = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql): SQLite files go with their folder",
)


def existing(names: list[str]) -> list[str]:
    async def query() -> list[str]:
        engine = open_database(POSTGRES_ADMIN_URL)
        try:
            async with engine.connect() as connection:
                found = await connection.execute(
                    text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"),
                    {"names": names},
                )
                return sorted(found.scalars())
        finally:
            await engine.dispose()

    return asyncio.run(query())


class MigrationFails:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, urls: dict[str, str]) -> None:
        self.names = [url.rsplit("/", 1)[1] for url in urls.values()]
        raise RuntimeError("migration failed")


@postgresql_only
def test_databases_are_dropped_when_their_migration_fails(tmp_path: Path) -> None:
    migrate = MigrationFails()
    with (
        pytest.raises(RuntimeError, match="migration failed"),
        scratch_databases(
            backend="postgresql", folder=tmp_path, postgres_url=POSTGRES_ADMIN_URL, migrate=migrate
        ),
    ):
        pass

    assert len(migrate.names) == 4
    assert existing(migrate.names) == []


@postgresql_only
def test_databases_are_dropped_when_the_run_fails(tmp_path: Path) -> None:
    names: list[str] = []
    with (
        pytest.raises(RuntimeError, match="the run failed"),
        scratch_databases(
            backend="postgresql", folder=tmp_path, postgres_url=POSTGRES_ADMIN_URL
        ) as urls,
    ):
        names = [url.rsplit("/", 1)[1] for url in urls.values()]
        assert existing(names) == sorted(names)
        raise RuntimeError("the run failed")

    assert existing(names) == []


def kept_databases(report: str) -> list[str]:
    return sorted(set(re.findall(r"chaos_[0-9a-f]{8}_[a-z]+", report)))


def announced_databases(output: str) -> list[str]:
    """The databases a run named as it started (``scratch databases chaos_…_*``)."""
    found = re.search(r"scratch databases (chaos_[0-9a-f]{8})_\*", output)
    assert found, f"the run did not name its databases: {output!r}"
    return [f"{found.group(1)}_{name}" for name in DATABASES]


def wait_for(condition: str, check: Callable[[], bool], *, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert check(), f"never saw {condition} within {within:g}s"


@pytest.mark.skipif(sys.platform != "linux", reason="reads processes from /proc")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_run_stops_its_services_and_drops_its_databases(
    tmp_path: Path, stop: signal.Signals
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "checkout.cli", "chaos", "--sagas", "100000"]
    command += ["--kills", "0", "--backend", test_database_backend()]
    command += ["--postgres-url", POSTGRES_ADMIN_URL]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        chaos = subprocess.Popen(
            command, env={**os.environ, "TMPDIR": str(scratch)}, stdout=stdout, stderr=stderr
        )
    services: set[int] = set()
    try:
        wait_for("orders being placed", lambda: "placing orders" in out.read_text())
        services = _children(chaos.pid)
        assert len(services) >= 4  # the participants and one orchestrator or more

        chaos.send_signal(stop)

        assert chaos.wait(timeout=120) != 0
        assert [pid for pid in services if _alive(pid)] == []
        assert list(scratch.iterdir()) == []
        if test_database_backend() == "postgresql":
            assert existing(announced_databases(err.read_text())) == []
    finally:
        if chaos.poll() is None:  # a failed assertion: still let it clean up after itself
            chaos.send_signal(signal.SIGTERM)
            try:
                chaos.wait(timeout=120)
            except subprocess.TimeoutExpired:
                chaos.kill()
                chaos.wait()
        for pid in services:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_keep_leaves_the_logs_and_databases_and_says_where(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    backend = test_database_backend()
    config = ChaosConfig(
        sagas=20,
        concurrency=4,
        kills=0,
        timeout_rate=0,  # no late deliveries to wait for: this run is about what it leaves
        backend=backend,
        postgres_url=POSTGRES_ADMIN_URL,
        keep=keep,
        show_progress=False,
    )
    heard: list[str] = []

    try:
        result = run_chaos(config, report=heard.append)

        assert result.violations == []
        assert result.kept is not None and str(keep / "logs") in result.kept
        assert {"orders.log", "inventory.log"} <= {p.name for p in (keep / "logs").iterdir()}
        if backend == "sqlite":
            assert {"orders.db", "inventory.db"} <= {p.name for p in keep.iterdir()}
        else:
            names = kept_databases(result.kept)
            assert len(names) == 4
            assert existing(names) == sorted(names)
    finally:
        if backend == "postgresql":
            drop_databases(POSTGRES_ADMIN_URL, announced_databases(heard[0]), report=print)


def test_keep_refuses_a_folder_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "orders.db").write_text("another run's")

    with pytest.raises(ValueError, match="not empty"):
        ChaosConfig(keep=tmp_path)
