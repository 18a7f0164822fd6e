"""PostgreSQL servers the chaos run may stop and start: a private cluster of its own,
or one it was told it may restart.

``--db-restarts`` stops the server under the run and starts it again while orders
flow. That must never happen to a server others use (the machine's main cluster, say),
so by default the run creates a cluster of its own on a free port with
postgresql-common's tools (``pg_createcluster``, ``pg_ctlcluster``, ``pg_dropcluster``;
run as root or postgres), and drops it at the end however the run ends. A server the
run did not start is restarted only when named with ``--postgres-url`` together with
``--i-may-restart-this-server``, and only a local one postgresql-common manages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from checkout.processes import free_port
from checkout.stopping import stop_signals_deferred

Report = Callable[[str], None]
TOOL_TIMEOUT_SECONDS = 180
"""Creating or starting a cluster takes seconds; minutes on a machine that is swamped."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "")
INSTALLED = Path("/usr/lib/postgresql")


class ClusterUnavailable(RuntimeError):
    """A cluster could not be created, found or controlled; the message says why."""


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/postgres"

    def __str__(self) -> str:
        return f"{self.version}/{self.name} on port {self.port}"

    def ctl(self, *action: str) -> list[str]:
        """A ``pg_ctlcluster`` command line for this cluster; systemd is skipped because
        the run, not a service manager, owns the server's lifetime."""
        return ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *action]

    def drop_command(self) -> str:
        return f"pg_dropcluster --stop {self.version} {self.name}"


@contextmanager
def private_cluster(*, keep: bool, report: Report) -> Iterator[Cluster]:
    """A new cluster on a free port, trusting local connections, started; dropped at
    the end unless ``keep``. Announced first, so even a run killed outright leaves no
    cluster unnamed."""
    cluster = Cluster(newest_version(), f"chaos_{uuid.uuid4().hex[:8]}", free_port())
    fate = "kept" if keep else "dropped"
    report(f"chaos: private PostgreSQL cluster {cluster}, {fate} at the end")
    try:
        # Held until both are done: a cluster half created is one pg_dropcluster may
        # not recognise, left on the machine.
        with stop_signals_deferred():
            run_tool(
                [
                    "pg_createcluster",
                    "--start-conf=manual",  # a leftover never comes back at boot
                    f"--port={cluster.port}",
                    cluster.version,
                    cluster.name,
                    "--",
                    "--auth=trust",
                ]
            )
            run_tool(cluster.ctl("start"))
        yield cluster
    finally:
        if not keep:
            drop_cluster(cluster, report=report)


def drop_cluster(cluster: Cluster, *, report: Report) -> None:
    """Stop and drop ``cluster``; never raises, says so if it is still there."""
    try:
        run_tool(["pg_dropcluster", "--stop", cluster.version, cluster.name])
    except ClusterUnavailable as error:
        if exists(cluster):
            report(f"{error}\nDrop it by hand: {cluster.drop_command()}")


def newest_version() -> str:
    if shutil.which("pg_createcluster") is None:
        raise ClusterUnavailable(
            "--db-restarts restarts a private PostgreSQL cluster, and creating one needs "
            "postgresql-common's pg_createcluster (Debian and Ubuntu: apt install "
            "postgresql). Without it, name a server the run may restart: --postgres-url "
            "URL --i-may-restart-this-server"
        )
    versions = [p.parent.parent.name for p in INSTALLED.glob("*/bin/initdb")]
    if not versions:
        raise ClusterUnavailable(f"no PostgreSQL server is installed under {INSTALLED}")
    return max(versions, key=lambda version: [int(part) for part in version.split(".")])


def find_cluster(url: str) -> Cluster:
    """The local cluster serving ``url``, as postgresql-common knows it."""
    parsed = make_url(url)
    host, port = parsed.host or "", parsed.port or 5432
    if host not in LOCAL_HOSTS:
        raise ClusterUnavailable(
            f"{host} is not this machine: --db-restarts can only restart a local cluster"
        )
    for found in clusters():
        if int(found["port"]) == port:
            return Cluster(str(found["version"]), str(found["cluster"]), port, host or "127.0.0.1")
    raise ClusterUnavailable(
        f"no cluster postgresql-common manages listens on port {port} (see pg_lsclusters): "
        "--db-restarts can only restart one of those"
    )


def exists(cluster: Cluster) -> bool:
    return any(
        str(found["version"]) == cluster.version and found["cluster"] == cluster.name
        for found in clusters()
    )


def is_running(cluster: Cluster) -> bool:
    return any(
        str(found["version"]) == cluster.version
        and found["cluster"] == cluster.name
        and bool(found.get("running"))
        for found in clusters()
    )


def clusters() -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(run_tool(["pg_lsclusters", "--json"]) or "[]")
    return listed


def run_tool(command: list[str]) -> str:
    """Run one of postgresql-common's tools; its output, or what it said when it failed."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClusterUnavailable(f"{' '.join(command)}: {error}") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-800:]
        raise ClusterUnavailable(f"{' '.join(command)} failed (exit {done.returncode}): {said}")
    return done.stdout
