"""Chaos with outages: participants killed, and the database server restarted under
the running system, on a private cluster the run creates and always drops.

Database restarts need PostgreSQL (TEST_DATABASE=postgresql) and postgresql-common's
cluster tools; they never touch the server the other tests use.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from checkout.chaos.cluster import (
    Cluster,
    ClusterUnavailable,
    exists,
    find_cluster,
    is_running,
    private_cluster,
)
from checkout.chaos.config import ChaosResult
from checkout.chaos.db_restarts import DatabaseRestarts
from checkout.chaos.run import run_chaos
from tests.conftest import test_database_backend
from tests.reliability.test_chaos import config
from tests.reliability.test_chaos_cleanup import wait_for

pytestmark = pytest.mark.e2e
postgresql_only = pytest.mark.skipif(
    test_database_backend() != "postgresql",
    reason="PostgreSQL only (TEST_DATABASE=postgresql): a SQLite file has no server",
)


def test_participants_killed_and_restarted_leave_the_books_straight(tmp_path: Path) -> None:
    result = run_chaos(
        config(kills=0, pauses=0, participant_kills=2, participant_down_seconds=(1.0, 3.0)),
        workdir=tmp_path,
    )

    assert result.violations == []
    assert result.participant_kills == 2
    assert result.clients.server_error_lines() == []
    assert result.faults > 0  # configured again after each restart, and counted


def announced_cluster(heard: list[str]) -> Cluster:
    found = next(
        (m for line in heard if (m := re.search(r"cluster (\S+)/(\S+) on port (\d+)", line))),
        None,
    )
    assert found, f"the run did not name its cluster: {heard}"
    return Cluster(found.group(1), found.group(2), int(found.group(3)))


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChaosResult, Cluster]:
    """One run with two database restarts (fast, then immediate), shared by the tests
    that read it: it takes a minute or two."""
    heard: list[str] = []
    result = run_chaos(
        config(sagas=120, kills=0, pauses=0, db_restarts=2, db_down_seconds=(2.0, 3.0)),
        workdir=tmp_path_factory.mktemp("restarts"),
        report=heard.append,
    )
    return result, announced_cluster(heard)


@postgresql_only
def test_database_restarts_leave_the_books_straight(
    restarted: tuple[ChaosResult, Cluster],
) -> None:
    result, _ = restarted

    assert result.violations == []
    assert result.db_restarts == 2
    assert any("1 fast, 1 immediate" in note for note in result.notes)


@postgresql_only
def test_the_private_cluster_is_dropped_after_the_run(
    restarted: tuple[ChaosResult, Cluster],
) -> None:
    _, cluster = restarted

    assert not exists(cluster)


@postgresql_only
def test_clients_are_answered_503_never_500_while_the_database_restarts(
    restarted: tuple[ChaosResult, Cluster],
) -> None:
    result, _ = restarted

    assert result.clients.server_error_lines() == []
    assert not result.failed


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster(keep=False, report=print) as made:
        yield made
    assert not exists(made)


async def until(condition: Callable[[], bool], *, within: float = 120.0) -> None:
    """Wait for ``condition`` to hold, looking again every tenth of a second."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.1)


@postgresql_only
async def test_restarts_alternate_fast_and_immediate_and_leave_the_server_running(
    cluster: Cluster,
) -> None:
    restarts = DatabaseRestarts(cluster, random.Random(1), down_seconds=(0, 0))

    await restarts.restart()
    await restarts.restart()

    assert restarts.modes == {"fast": 1, "immediate": 1}
    assert await asyncio.to_thread(is_running, cluster)


@postgresql_only
async def test_a_run_that_ends_while_the_server_is_down_starts_it_again(cluster: Cluster) -> None:
    restarts = DatabaseRestarts(cluster, random.Random(1), down_seconds=(600, 600))
    restart = asyncio.create_task(restarts.restart())
    await until(lambda: restarts.down)
    restart.cancel()

    await asyncio.to_thread(restarts.ensure_running, print)

    assert await asyncio.to_thread(is_running, cluster)


@postgresql_only
def test_a_server_is_found_by_its_url_only_on_this_machine(cluster: Cluster) -> None:
    assert find_cluster(cluster.url) == cluster

    with pytest.raises(ClusterUnavailable, match="not this machine"):
        find_cluster("postgresql+asyncpg://postgres@db.example.com:5432/postgres")


@postgresql_only
def test_a_run_stopped_with_sigterm_drops_its_private_cluster(tmp_path: Path) -> None:
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "checkout.cli", "chaos", "--sagas", "100000"]
    command += ["--kills", "0", "--db-restarts", "1", "--backend", "postgresql"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        chaos = subprocess.Popen(command, env=dict(os.environ), stdout=stdout, stderr=stderr)
    try:
        wait_for("orders being placed", lambda: "placing orders" in out.read_text())
        cluster = announced_cluster(err.read_text().splitlines())
        assert exists(cluster)

        chaos.send_signal(signal.SIGTERM)

        assert chaos.wait(timeout=120) == 128 + signal.SIGTERM
        assert not exists(cluster)
    finally:
        if chaos.poll() is None:
            chaos.kill()
            chaos.wait()
